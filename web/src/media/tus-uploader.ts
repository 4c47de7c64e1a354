/**
 * One file's upload with tus-js-client against Supabase Storage's resumable endpoint, which the sync server
 * also answers (sync-server/src/storage/upload-routes.ts, ADR 0008). The endpoint comes from the session's auth
 * URL (`…/auth/v1` → `…/storage/v1/upload/resumable`), so the same code talks to the embedded server and to
 * Supabase.
 *
 * - 6 MiB chunks (Supabase requires exactly that); the upload URL is kept in the file's row
 *   (dexie-url-storage.ts) under a fingerprint from the file id, and removed once the upload completed.
 * - A fresh bearer token for every request (onBeforeRequest), so a long upload or a resume days later never
 *   sends an expired one.
 * - tus-js-client retries network errors and 5xx itself with delays suited to 2G (a retry that made progress
 *   resets the delays); after that the queue takes over. A request that shows no progress for STALL_MS is
 *   aborted (a dead 2G link can hold an XHR open for minutes) and resumed later from the server's offset.
 */
import { Upload, type UrlStorage } from 'tus-js-client';
import type { StoredSession } from '../sync/auth-session.ts';
import { EVIDENCE_BUCKET } from './evidence-object-name.ts';
import { fingerprintFor } from './dexie-url-storage.ts';
import type { MediaFileRow } from './media-db.ts';
import type { UploadJob, UploadRunner } from './upload-queue.ts';
import { classifyUploadError, isWorthRetrying, SignedOutError, type UploadResult } from './upload-result.ts';
import { needsServerVerify, type UploadVerifier } from './verify-upload.ts';

export const CHUNK_SIZE = 6 * 1024 * 1024;
/** Before the queue's own backoff: a few quick tries for a blip, then slower ones for a 2G link coming back. */
export const RETRY_DELAYS = [0, 1_000, 3_000, 10_000, 20_000, 30_000];
export const STALL_MS = 90_000;

/** `https://x.supabase.co/auth/v1` → `https://x.supabase.co/storage/v1/upload/resumable`. */
export function resumableEndpoint(authUrl: string): string {
  return `${authUrl.replace(/\/+$/, '').replace(/\/auth\/v1$/, '')}/storage/v1/upload/resumable`;
}

/** Supabase's metadata (bucketName, objectName, contentType, cacheControl) and ours (upload-routes.ts). */
export function uploadMetadata(file: MediaFileRow & { objectName: string }): Record<string, string> {
  return {
    bucketName: EVIDENCE_BUCKET,
    objectName: file.objectName,
    contentType: file.contentType,
    cacheControl: '3600',
    sha256: file.sha256,
    mediaId: file.id,
    capturedAt: new Date(file.capturedAt).toISOString(),
    ...(file.location !== null && {
      latitude: String(file.location.lat),
      longitude: String(file.location.lng),
      accuracyMeters: String(Math.max(0, file.location.accuracyM)),
    }),
    ...(file.durationMs !== null && { durationMs: String(Math.max(0, Math.round(file.durationMs))) }),
  };
}

export interface TusUploaderDeps {
  session(): Promise<StoredSession | null>;
  getAccessToken(): Promise<string | null>;
  readonly urlStorage: UrlStorage;
  readonly chunkSize?: number;
  readonly retryDelays?: number[];
  readonly stallMs?: number;
  /** This server's origin (`location.origin`): uploads to another one are verified by `verify`. */
  readonly serverOrigin: string;
  readonly verify: UploadVerifier;
}

export function createTusUploader(deps: TusUploaderDeps): UploadRunner {
  const stallMs = deps.stallMs ?? STALL_MS;
  return async (job: UploadJob): Promise<UploadResult> => {
    const session = await deps.session();
    if (session === null) return { kind: 'unauthorized' };
    const metadata = uploadMetadata(job.file);
    const verified = needsServerVerify(session.authUrl, deps.serverOrigin);
    if (verified && job.file.storedAt != null) return deps.verify(metadata);
    const uploaded = await new Promise<UploadResult>((resolve) => {
      let settled = false;
      let lastActivity = Date.now();
      const touch = () => {
        lastActivity = Date.now();
      };
      const finish = (result: UploadResult) => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        resolve(result);
      };
      const upload = new Upload(job.blob, {
        endpoint: resumableEndpoint(session.authUrl),
        chunkSize: deps.chunkSize ?? CHUNK_SIZE,
        retryDelays: deps.retryDelays ?? RETRY_DELAYS,
        fingerprint: async () => fingerprintFor(job.file.id),
        urlStorage: deps.urlStorage,
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        metadata,
        // Supabase's gateway wants the project's anon key; the embedded server ignores it.
        headers: { apikey: session.anonKey },
        async onBeforeRequest(request) {
          touch();
          const token = await deps.getAccessToken();
          if (token === null) throw new SignedOutError();
          request.setHeader('Authorization', `Bearer ${token}`);
        },
        onAfterResponse: touch,
        onShouldRetry: (error) => isWorthRetrying(classifyUploadError(error)) && navigator.onLine !== false,
        onProgress(bytesSent) {
          touch();
          job.onProgress(bytesSent);
        },
        onSuccess: () => finish({ kind: 'uploaded' }),
        onError: (error) => finish(classifyUploadError(error)),
      });
      const watchdog = setInterval(
        () => {
          if (Date.now() - lastActivity < stallMs) return;
          void upload.abort().finally(() => finish({ kind: 'offline', error: 'no progress: link stalled' }));
        },
        Math.min(10_000, stallMs),
      );
      upload
        .findPreviousUploads()
        .then((previous) => {
          const [last] = previous;
          if (last !== undefined) upload.resumeFromPreviousUpload(last);
          upload.start();
        })
        .catch((error: unknown) => finish(classifyUploadError(error)));
    });
    if (!verified || uploaded.kind !== 'uploaded') return uploaded;
    await job.markStored();
    return deps.verify(metadata);
  };
}
