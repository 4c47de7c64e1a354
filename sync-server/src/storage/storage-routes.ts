/**
 * The evidence media store (issue #6, ADR 0008): Supabase-Storage-compatible resumable uploads (upload-routes.ts),
 * signed download URLs (signed-url-routes.ts) and the check of uploads made straight to Supabase Storage
 * (verify-routes.ts), with files under `dir` and their rows in `media_files`. With USER_CONTENT_URL, files are
 * served only on that origin (user-content-origin.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Identity } from '../auth/identity.ts';
import type { Db } from '../db/database.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import { registerSignedUrlRoutes } from './signed-url-routes.ts';
import { registerUploadRoutes } from './upload-routes.ts';
import type { UploadLimits } from './unfinished-uploads.ts';
import { serveOnlyFilesOnContentHost, userContentOrigin } from './user-content-origin.ts';
import type { UrlSigningKey } from './url-signing-key.ts';
import type { SupabaseStorage } from './supabase-storage.ts';
import { registerVerifyRoutes } from './verify-routes.ts';

export type StorageConfig = {
  /** The storage root, normally `DATA_DIR/storage`. */
  dir: string;
  /** Signs download URLs (url-signing-key.ts). */
  urlSigningKey: UrlSigningKey;
  /**
   * With SUPABASE_URL the devices upload to Supabase Storage and the server verifies each object there
   * (verify-routes.ts) and signs contacts' links there; `missing-service-key` when SUPABASE_SERVICE_KEY is unset.
   */
  supabase?: SupabaseStorage | 'missing-service-key' | null;
  /** USER_CONTENT_URL: the only origin that serves stored files; null or missing = the app's own. */
  userContentUrl?: string | null;
  /** UPLOAD_UNFINISHED_LIMIT and UPLOAD_ABANDONED_HOURS; defaults when missing. */
  uploadLimits?: UploadLimits;
};

export async function registerStorageRoutes(
  app: FastifyInstance,
  deps: StorageConfig & {
    db: Db;
    identity: Identity;
    now: () => Date;
    pokes: Pokes;
  },
): Promise<void> {
  const userContent = userContentOrigin(deps.userContentUrl ?? null);
  serveOnlyFilesOnContentHost(app, userContent);
  await registerUploadRoutes(app, deps);
  await registerSignedUrlRoutes(app, { ...deps, userContent });
  await registerVerifyRoutes(app, { ...deps, supabaseStorage: deps.supabase ?? null });
}
