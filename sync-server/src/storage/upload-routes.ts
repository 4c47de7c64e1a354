/**
 * Supabase Storage's resumable upload endpoint, answered by @tus/server over a file store in `dir/uploads`:
 * `POST /storage/v1/upload/resumable` creates an upload (metadata `bucketName`, `objectName`, `contentType`,
 * `cacheControl`, and ours, all optional: `sha256`, `mediaId`, `capturedAt`, `latitude`, `longitude`,
 * `accuracyMeters`, `durationMs`; header `x-upsert`), then `HEAD`/`PATCH`/`DELETE` on the URL it returns. An
 * upload made as Supabase documents it (its four fields only) is accepted (SPEC SE5).
 *
 * Every request carries the same bearer token as the rest of the API, verified before tus sees the request.
 * Then, in order:
 * - create: the path is the caller's own (`user-{id}/…`), the bucket takes the declared type, the declared size is
 *   within the type's limit, (without x-upsert) nothing lives at the path yet, and the account has room for one
 *   more unfinished upload (unfinished-uploads.ts; SOS evidence always has room);
 * - PATCH/HEAD/DELETE: the upload's path is the caller's;
 * - first chunk: the bytes match the declared type (checked-file-store.ts);
 * - last chunk: the SHA-256 of the stored file equals the device's (when it sent one), the first bytes are checked
 *   again, the file is hard-linked to `dir/objects/{bucket}/{path}` and the `media_files` row written with the
 *   server's hash and the bare media type (SE1), in one transaction. A mismatch deletes the upload.
 * The finished upload stays answerable (HEAD gives its full offset), so a device whose last response was lost
 * learns the upload is complete instead of starting over. Upload records expire as unfinished-uploads.ts says;
 * the published object is a second link and stays. The upload endpoint never serves a file's bytes (no GET), and
 * its answers carry the scriptless CSP and nosniff all the same (user-content-headers.ts).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Server, type ServerOptions, type Upload } from '@tus/server';
import { PatientLocker } from './patient-locker.ts';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { emergencyIncidents } from '@vitalwatch/schema/db/tables';
import { isUuidV7, newId, type IncidentId, type MediaFileId } from '@vitalwatch/schema/ids';
import { bearerToken, type Caller, type Identity } from '../auth/identity.ts';
import type { Db } from '../db/database.ts';
import { withUser, type RequestClaims } from '../db/with-user.ts';
import { databaseUnavailable, HttpError, parseInput, RETRY_AFTER_SECONDS } from '../http/http-error.ts';
import { isTransientDatabaseError } from '../db/transient-database-error.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import { CheckedFileStore } from './checked-file-store.ts';
import { bytesMatchType, checkDeclaredType, essenceOf, MAX_UPLOAD_BYTES } from './media-types.ts';
import { digestBytes } from './digest-bytes.ts';
import { isPathProblem, isSystemBucket, parseObjectRef, type ObjectRef } from './object-paths.ts';
import { alreadyExists, mediaFileExists, recordMediaFile, type VerifiedFile } from './record-media-file.ts';
import { TusRefusal } from './tus-refusal.ts';
import {
  DEFAULT_UPLOAD_LIMITS,
  TooManyUnfinishedUploads,
  UnfinishedUploads,
  type UploadLimits,
} from './unfinished-uploads.ts';
import { keepUserContentHeaders } from './user-content-headers.ts';

export const UPLOAD_PATH = '/storage/v1/upload/resumable';
const CLEANUP_INTERVAL_MS = 60 * 60 * 1000;

export type UploadDeps = {
  db: Db;
  identity: Identity;
  now: () => Date;
  pokes: Pokes;
  /** The storage root: `uploads/` (tus) and `objects/` (published files) live under it. */
  dir: string;
  /** UPLOAD_UNFINISHED_LIMIT and UPLOAD_ABANDONED_HOURS; DEFAULT_UPLOAD_LIMITS when missing. */
  uploadLimits?: UploadLimits;
};

const CONTENT_TYPE =
  /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;\s*[a-z0-9_.-]+=[^;,\s]+)*$/i;

const optionalNumber = (schema: z.ZodNumber) => z.coerce.number().pipe(schema).optional();

export const UploadMetadata = z.object({
  bucketName: z.string().min(1),
  objectName: z.string().min(1),
  // Parameters (`;codecs=opus`, `;charset=utf-8`) are dropped here, so every check, the stored row and the
  // served headers see the same bare type (SPEC SE1).
  contentType: z
    .string()
    .max(255)
    .regex(CONTENT_TYPE, 'must be a media type such as "audio/webm;codecs=opus"')
    .transform(essenceOf),
  cacheControl: z.string().max(100).optional(),
  /** The device's SHA-256 of the file; Supabase's API has no such field, so it is optional (SPEC SE5). */
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be the SHA-256 of the file, 64 hex digits')
    .transform((hex) => hex.toLowerCase())
    .optional(),
  mediaId: z.string().refine(isUuidV7, 'must be a UUIDv7').optional(),
  capturedAt: z.iso.datetime({ offset: true }).optional(),
  latitude: optionalNumber(z.number().min(-90).max(90)),
  longitude: optionalNumber(z.number().min(-180).max(180)),
  accuracyMeters: optionalNumber(z.number().min(0)),
  durationMs: optionalNumber(z.number().int().min(0)),
  /** Written by the server at creation from the `x-upsert` header; whatever a client sends here is replaced. */
  upsert: z.enum(['true', 'false']).optional(),
  /** Written by the server at creation: SOS evidence of an incident it has (unfinished-uploads.ts). */
  evidence: z.enum(['true', 'false']).optional(),
});
export type UploadMetadata = z.output<typeof UploadMetadata>;

type TusRequest = Parameters<NonNullable<ServerOptions['onUploadCreate']>>[0];

function refusal(error: unknown): unknown {
  if (error instanceof HttpError) return TusRefusal.from(error);
  // A lost or busy database, as on every other route (SPEC DF1); `relay` adds the Retry-After.
  if (isTransientDatabaseError(error)) return TusRefusal.from(databaseUnavailable());
  return error;
}

function readMetadata(upload: Upload): { meta: UploadMetadata; object: ObjectRef } {
  return parseUploadMetadata(upload.metadata ?? {}, 'Upload-Metadata');
}

/** The upload's metadata and the object it names; a 400 names what is wrong. */
export function parseUploadMetadata(
  value: unknown,
  where: string,
): { meta: UploadMetadata; object: ObjectRef } {
  const meta = parseInput(UploadMetadata, value, where);
  const object = parseObjectRef(meta.bucketName, meta.objectName);
  if (isPathProblem(object)) throw new HttpError(400, object.code, object.message);
  return { meta, object };
}

/** The `media_files` fields the device's metadata gives; size and hash come from the checked bytes. */
export function fileFromMetadata(
  meta: UploadMetadata,
  object: ObjectRef,
): Omit<VerifiedFile, 'sizeBytes' | 'sha256'> {
  return {
    id: (meta.mediaId ?? newId()) as MediaFileId,
    object,
    contentType: meta.contentType,
    upsert: meta.upsert === 'true',
    capturedAt: meta.capturedAt === undefined ? null : new Date(meta.capturedAt),
    latitude: meta.latitude ?? null,
    longitude: meta.longitude ?? null,
    accuracyMeters: meta.accuracyMeters ?? null,
    durationMs: meta.durationMs ?? null,
  };
}

/** Users write only under their own `user-{id}/` folder, and never in the server's buckets. */
export function checkOwner(caller: Caller, object: ObjectRef): void {
  if (isSystemBucket(object.bucket)) {
    throw new HttpError(403, 'system_bucket', `bucket "${object.bucket}" is written by the server only`);
  }
  if (object.ownerId !== caller.userId) {
    throw new HttpError(
      403,
      'not_your_folder',
      `you may write only under "user-${caller.userId}/", not "${object.path.split('/')[0] ?? ''}/"`,
    );
  }
}

/** Whether the object is SOS evidence: in `emergency`, under an incident of the caller's that the server has. */
async function isSosEvidence(db: Db, claims: RequestClaims, object: ObjectRef): Promise<boolean> {
  const incidentId: IncidentId | null = object.incidentId;
  if (object.bucket !== 'emergency' || incidentId === null) return false;
  const rows = await withUser(db, claims, (tx) =>
    tx
      .select({ id: emergencyIncidents.id })
      .from(emergencyIncidents)
      .where(eq(emergencyIncidents.id, incidentId)),
  );
  return rows.length > 0;
}

/** Makes `source` also reachable as `target`, replacing what was there in one step (a reader never sees half). */
async function publishFile(source: string, target: string, uploadId: string) {
  const staging = path.join(path.dirname(target), `.${path.basename(target)}.${uploadId}`);
  try {
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await fsp.rm(staging, { force: true });
    await fsp.link(source, staging);
    await fsp.rename(staging, target);
  } catch (error) {
    await fsp.rm(staging, { force: true }).catch(() => undefined);
    const code = error instanceof Error && 'code' in error ? error.code : null;
    // "a/b" exists as a file and "a/b/c" is uploaded, or the other way round.
    if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
      throw new HttpError(
        409,
        'path_conflict',
        'the object name clashes with an existing file or folder name',
      );
    }
    throw error;
  }
}

export function objectFile(dir: string, object: { bucket: string; path: string }): string {
  return path.join(dir, 'objects', object.bucket, ...object.path.split('/'));
}

/**
 * The request as tus's web handler takes it. The body ends *cleanly* when the client's connection drops, so tus
 * stores every byte that reached us and the next HEAD reports it; with an erroring body it would drop what sat in
 * its stream buffers (about 85 KB per drop, measured). Backpressure is kept: the socket is read as fast as the
 * disk takes it.
 */
function webRequest(raw: IncomingMessage): { request: Request; discardRest(): void } {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const init: RequestInit & { duplex?: 'half' } = { method: raw.method ?? 'GET', headers };
  const onData = (chunk: Buffer) => {
    if (!body.write(chunk)) raw.pause();
  };
  const body = new PassThrough();
  if (raw.method === 'PATCH' || raw.method === 'POST') {
    let ended = false;
    const end = () => {
      if (!ended) body.end();
      ended = true;
    };
    raw.on('data', onData);
    body.on('drain', () => raw.resume());
    raw.on('end', end);
    raw.on('error', end);
    raw.on('close', end);
    init.body = Readable.toWeb(body) as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return {
    // The host is irrelevant: tus reads only the path, and answers with relative upload URLs.
    request: new Request(`http://localhost${raw.url ?? '/'}`, init),
    // After a refusal tus has not read the body; drop the rest so the connection can carry the answer and then
    // the next request.
    discardRest() {
      raw.off('data', onData);
      body.destroy();
      raw.resume();
    },
  };
}

/** Our JSON error shape for tus's own plain-text errors; 5xx never carry internals. */
function errorResponse(log: FastifyBaseLogger, error: Error | { status_code: number; body: string }) {
  if (error instanceof TusRefusal) return undefined;
  const status = 'status_code' in error && typeof error.status_code === 'number' ? error.status_code : 500;
  if (status >= 500) {
    log.error({ err: error }, 'storage upload failed');
    return { status_code: status, body: new TusRefusal(status, 'internal', 'internal server error').body };
  }
  const text = 'body' in error && typeof error.body === 'string' ? error.body.trim() : 'bad request';
  const code =
    status === 404 || status === 410
      ? 'upload_not_found'
      : status === 409
        ? 'offset_mismatch'
        : 'tus_protocol';
  return { status_code: status, body: new TusRefusal(status, code, text).body };
}

export async function registerUploadRoutes(app: FastifyInstance, deps: UploadDeps): Promise<void> {
  const limits = deps.uploadLimits ?? DEFAULT_UPLOAD_LIMITS;
  const store = new CheckedFileStore({
    directory: path.join(deps.dir, 'uploads'),
    // What tus announces in Upload-Expires: the shortest an unfinished upload is kept after its last byte.
    expirationPeriodInMilliseconds: limits.abandonedAfterMs,
  });
  const unfinished = new UnfinishedUploads(store, limits, deps.now);
  // Headers an answer needs beyond tus's own (Retry-After on a 429), by request.
  const extraHeaders = new WeakMap<Request, Record<string, string>>();
  // The caller of each request, verified by the fastify handler before tus sees the request.
  const callers = new WeakMap<Request, Caller>();
  const callerOf = (req: TusRequest): Caller => {
    const caller = callers.get(req);
    if (caller === undefined) throw new TusRefusal(401, 'no_authorization', 'request was not authenticated');
    return caller;
  };

  const locker = new PatientLocker({ graceMs: 3_000, timeoutMs: 30_000 });
  const tus = new Server({
    path: UPLOAD_PATH,
    datastore: store,
    maxSize: MAX_UPLOAD_BYTES,
    // `Location: /storage/v1/upload/resumable/{id}`, resolved by the client against the origin it used: right
    // behind any proxy or tunnel, with no PUBLIC_URL or forwarded headers to trust.
    relativeLocation: true,
    disableTerminationForFinishedUploads: true,
    // A resuming HEAD waits for a dropped PATCH to store what reached us (patient-locker.ts).
    locker,

    async onIncomingRequest(req, id) {
      if (req.method === 'POST' || req.method === 'OPTIONS') return;
      try {
        const caller = callerOf(req);
        checkOwner(caller, readMetadata(await store.getUpload(id)).object);
      } catch (error) {
        throw refusal(error);
      }
    },

    async onUploadCreate(req, upload) {
      try {
        const caller = callerOf(req);
        if (upload.sizeIsDeferred || upload.size === undefined) {
          throw new HttpError(
            400,
            'length_required',
            'send Upload-Length: deferred lengths are not accepted',
          );
        }
        const { meta, object } = readMetadata(upload);
        checkOwner(caller, object);
        const type = checkDeclaredType(object.bucket, meta.contentType);
        if (!type.ok) throw new HttpError(415, type.code, type.message);
        if (upload.size === 0) throw new HttpError(400, 'empty_file', 'the file is empty');
        if (upload.size > type.limit) {
          throw new HttpError(
            413,
            'file_too_large',
            `${type.kind} files may be up to ${type.limit} bytes; this one is ${upload.size}`,
          );
        }
        const upsert = req.headers.get('x-upsert') === 'true';
        if (!upsert && (await mediaFileExists(deps.db, caller.claims, object))) throw alreadyExists(object);
        const evidence = await isSosEvidence(deps.db, caller.claims, object);
        await unfinished.admit(upload.id, caller.userId, evidence);
        return { metadata: { ...upload.metadata, upsert: String(upsert), evidence: String(evidence) } };
      } catch (error) {
        if (error instanceof TooManyUnfinishedUploads) {
          extraHeaders.set(req, { 'retry-after': String(error.retryAfterSeconds) });
        }
        throw refusal(error);
      }
    },

    async onUploadFinish(req, upload) {
      const file = upload.storage?.path ?? path.join(store.directory, upload.id);
      try {
        const caller = callerOf(req);
        const { meta, object } = readMetadata(upload);
        checkOwner(caller, object);
        const stored = await digestBytes(fs.createReadStream(file));
        // Without the device's hash (Supabase's API has none) the server's own is recorded.
        if (meta.sha256 !== undefined && stored.sha256 !== meta.sha256) {
          throw new HttpError(
            422,
            'hash_mismatch',
            `the stored file's SHA-256 is ${stored.sha256}, the device declared ${meta.sha256}: upload deleted, send it again`,
          );
        }
        if (!bytesMatchType(meta.contentType, stored.head)) {
          throw new HttpError(415, 'content_mismatch', `the file's first bytes are not ${meta.contentType}`);
        }
        await recordMediaFile(
          deps.db,
          caller.claims,
          {
            ...fileFromMetadata(meta, object),
            sizeBytes: upload.size ?? upload.offset,
            sha256: stored.sha256,
          },
          deps.now(),
          () => publishFile(file, objectFile(deps.dir, object), upload.id),
        ).then(({ version }) => deps.pokes.publish(caller.userId, version));
        unfinished.settle(upload.id);
        return {};
      } catch (error) {
        // Whatever was refused at the end cannot be resumed: the device must send the file again.
        await store.remove(upload.id).catch(() => undefined);
        unfinished.settle(upload.id);
        throw refusal(error);
      }
    },

    onResponseError: (_req, error) => errorResponse(app.log, error),
  });

  const cleanup = setInterval(() => {
    unfinished.sweep().catch((error: unknown) => app.log.warn({ err: error }, 'upload cleanup failed'));
  }, CLEANUP_INTERVAL_MS);
  cleanup.unref();
  app.addHook('onClose', async () => clearInterval(cleanup));

  await app.register(async (scope) => {
    // The body is tus's to read, chunk by chunk, straight to disk: fastify must not buffer or limit it.
    scope.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => done(null));
    const handle = (request: FastifyRequest, reply: FastifyReply) =>
      // In line behind the requests for this upload that came before: a resuming HEAD must not overtake the
      // dropped PATCH it follows while that PATCH's token is still being checked (patient-locker.ts).
      locker.inArrivalOrder((request.params as { uploadId?: string }).uploadId, () => relay(request, reply));
    const relay = async (request: FastifyRequest, reply: FastifyReply) => {
      // Take hold of the body before anything is awaited: a connection that drops while the token is checked
      // (a database round trip on a busy server) would otherwise take the bytes that already reached us with it,
      // and the client would send them again (a 5 MB upload cost 1.2× the file that way under load).
      const tusRequest = webRequest(request.raw);
      let caller: Caller | null;
      try {
        caller =
          request.method === 'OPTIONS'
            ? null
            : await deps.identity.verify(bearerToken(request.headers.authorization));
      } catch (error) {
        tusRequest.discardRest();
        throw error;
      }
      if (caller !== null) callers.set(tusRequest.request, caller);
      const response = await tus.handleWeb(tusRequest.request);
      tusRequest.discardRest();
      const text = await response.text();
      for (const [name, value] of response.headers) {
        if (name !== 'content-length') void reply.header(name, value);
      }
      void reply.headers(extraHeaders.get(tusRequest.request) ?? {});
      if (response.status === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      if (text.startsWith('{')) void reply.header('content-type', 'application/json; charset=utf-8');
      return reply.status(response.status).send(text === '' ? undefined : text);
    };
    // No GET: an upload's bytes are never served from here, only as a published object through a signed link.
    scope.route({
      method: ['POST', 'OPTIONS'],
      url: UPLOAD_PATH,
      onSend: keepUserContentHeaders,
      handler: handle,
    });
    scope.route({
      method: ['HEAD', 'PATCH', 'DELETE', 'OPTIONS'],
      url: `${UPLOAD_PATH}/:uploadId`,
      onSend: keepUserContentHeaders,
      handler: handle,
    });
  });
}
