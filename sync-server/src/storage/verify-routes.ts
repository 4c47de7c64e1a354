/**
 * `POST /storage/v1/verify`: the device's last step after a resumable upload to Supabase Storage (issue #6,
 * ADR 0008). The device uploads straight to Supabase, which knows nothing of our rules; it then posts the same
 * metadata it gave tus (`bucketName`, `objectName`, `contentType`, `sha256`, `mediaId`, capture time and place)
 * here, with its bearer token. The server applies the embedded upload's rules to the stored object and writes
 * the same `media_files` row (record-media-file.ts):
 *
 * - 401 no or bad token; 400 bad metadata or no `sha256` (required here, unlike on the upload); 403 not the caller's `user-{id}/` folder (upload-routes.ts checkOwner);
 *   415 a type the bucket does not take;
 * - 200 the row already records this path with this hash (idempotent: a device whose answer was lost asks again);
 * - 404 `not_found` the object is not in Supabase (the device uploads again);
 * - reads the object with the service key, streaming: 413 `file_too_large`, 422 `content_mismatch` (first bytes
 *   not the declared type), 422 `hash_mismatch` (SHA-256 not the device's). Each of these deletes the object at
 *   Supabase, so nothing unchecked stays in the user's folder and the device uploads again from scratch;
 * - 200 `{id, bucket, objectName, sha256, sizeBytes}` once the row is written.
 *
 * Without Supabase Storage (embedded mode) the files are checked as they arrive, and this route only reports:
 * 200 when the row records the hash, 422 when it records another, 404 when there is none. A device that guessed
 * the wrong store costs one request, never an upload.
 */
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { mediaFiles } from '@vitalwatch/schema/db/tables';
import type { Caller, Identity } from '../auth/identity.ts';
import { authenticateFirst, callerOf } from '../http/authenticate-first.ts';
import type { Db } from '../db/database.ts';
import { withUser } from '../db/with-user.ts';
import { HttpError } from '../http/http-error.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import { digestBytes } from './digest-bytes.ts';
import { bytesMatchType, checkDeclaredType } from './media-types.ts';
import type { ObjectRef } from './object-paths.ts';
import { isLiveObject, recordMediaFile } from './record-media-file.ts';
import type { SupabaseStorage } from './supabase-storage.ts';
import { checkOwner, fileFromMetadata, parseUploadMetadata, type UploadMetadata } from './upload-routes.ts';

export const VERIFY_PATH = '/storage/v1/verify';

export type VerifyDeps = {
  db: Db;
  identity: Identity;
  now: () => Date;
  pokes: Pokes;
  /**
   * Where devices upload: null = our own store (embedded mode); `missing-service-key` = Supabase without
   * SUPABASE_SERVICE_KEY, so nothing can be checked (503: the device keeps the file and asks again later).
   */
  supabaseStorage: SupabaseStorage | 'missing-service-key' | null;
};

type Verified = { id: string; bucket: string; objectName: string; sha256: string; sizeBytes: number };

async function recordedFile(db: Db, caller: Caller, object: ObjectRef) {
  const [row] = await withUser(db, caller.claims, (tx) =>
    tx
      .select({ id: mediaFiles.id, sha256: mediaFiles.sha256, sizeBytes: mediaFiles.sizeBytes })
      .from(mediaFiles)
      .where(and(isLiveObject(object), eq(mediaFiles.userId, caller.userId))),
  );
  return row ?? null;
}

function hashMismatch(actual: string, declared: string, deleted: boolean): HttpError {
  return new HttpError(
    422,
    'hash_mismatch',
    `the stored file's SHA-256 is ${actual}, the device declared ${declared}` +
      (deleted ? ': object deleted, upload it again' : ''),
  );
}

/** Reads the object back from Supabase and checks it; throws the refusal (the caller deletes the object). */
async function checkStoredObject(
  storage: SupabaseStorage,
  object: ObjectRef,
  meta: UploadMetadata & { sha256: string },
  limit: { kind: string; bytes: number },
) {
  const stored = await storage.download(object);
  if (stored === null) {
    throw new HttpError(
      404,
      'not_found',
      `object ${object.bucket}/${object.path} not found: upload it first`,
    );
  }
  const tooLarge = (size: number) =>
    new HttpError(
      413,
      'file_too_large',
      `${limit.kind} files may be up to ${limit.bytes} bytes; this one is ${size}`,
    );
  if (stored.size !== null && stored.size > limit.bytes) {
    await stored.body.cancel();
    throw tooLarge(stored.size);
  }
  const digest = await digestBytes(stored.body, {
    bytes: limit.bytes,
    tooLarge: () => tooLarge(limit.bytes + 1),
  });
  if (digest.size === 0) throw new HttpError(422, 'empty_file', 'the stored file is empty');
  if (!bytesMatchType(meta.contentType, digest.head)) {
    throw new HttpError(422, 'content_mismatch', `the file's first bytes are not ${meta.contentType}`);
  }
  if (digest.sha256 !== meta.sha256) throw hashMismatch(digest.sha256, meta.sha256, true);
  return digest;
}

export async function registerVerifyRoutes(app: FastifyInstance, deps: VerifyDeps): Promise<void> {
  app.post(
    VERIFY_PATH,
    { onRequest: authenticateFirst(deps.identity) },
    async (request): Promise<Verified> => {
      if (deps.supabaseStorage === 'missing-service-key') {
        throw new HttpError(
          503,
          'verification_unavailable',
          'SUPABASE_SERVICE_KEY is not set: the server cannot check uploads to Supabase Storage',
        );
      }
      const caller = callerOf(request);
      const parsed = parseUploadMetadata(request.body ?? {}, 'body');
      const { object } = parsed;
      const { sha256 } = parsed.meta;
      if (sha256 === undefined) {
        throw new HttpError(
          400,
          'validation_failed',
          'body.sha256: required: the SHA-256 of the file you uploaded (64 hex digits), which the server checks',
        );
      }
      const meta = { ...parsed.meta, sha256 };
      checkOwner(caller, object);
      const type = checkDeclaredType(object.bucket, meta.contentType);
      if (!type.ok) throw new HttpError(415, type.code, type.message);
      const answer = (row: { id: string; sizeBytes: number }) => ({
        id: row.id,
        bucket: object.bucket,
        objectName: object.path,
        sha256: meta.sha256,
        sizeBytes: row.sizeBytes,
      });

      const recorded = await recordedFile(deps.db, caller, object);
      if (recorded?.sha256 === meta.sha256) return answer(recorded);
      const storage: SupabaseStorage | null = deps.supabaseStorage;
      if (storage === null) {
        if (recorded !== null) throw hashMismatch(recorded.sha256, meta.sha256, false);
        throw new HttpError(
          404,
          'not_found',
          `object ${object.bucket}/${object.path} not found: upload it first`,
        );
      }

      let digest;
      try {
        digest = await checkStoredObject(storage, object, meta, { kind: type.kind, bytes: type.limit });
      } catch (error) {
        // What failed the checks must not stay in the user's folder looking like evidence.
        if (error instanceof HttpError && error.statusCode !== 404) await storage.remove(object);
        throw error;
      }
      const { id, version } = await recordMediaFile(
        deps.db,
        caller.claims,
        { ...fileFromMetadata(meta, object), sizeBytes: digest.size, sha256: digest.sha256 },
        deps.now(),
        // The object is already where readers find it (Supabase); the row is what makes it evidence.
        async () => undefined,
      );
      deps.pokes.publish(caller.userId, version);
      return answer({ id, sizeBytes: digest.size });
    },
  );
}
