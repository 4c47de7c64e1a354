/**
 * Signed download URLs as supabase-js's storage client uses them:
 * - `POST /storage/v1/object/sign/{bucket}/{path}` `{expiresIn}` → `{signedURL: "/object/sign/{bucket}/{path}?token=…"}`
 *   (`createSignedUrl`), and `POST /storage/v1/object/sign/{bucket}` `{expiresIn, paths}` → `[{path, signedURL,
 *   error}]` (`createSignedUrls`). The caller must be allowed to read the object (`mayRead`) and it must exist.
 * - `GET /storage/v1/object/sign/{bucket}/{path}?token=…[&download[=name]]` streams the file to whoever holds the
 *   link until it expires (signed-url-token.ts), with single-range support (Safari plays audio only with it).
 * Downloads carry the headers of user-content-headers.ts (a sandboxing CSP on every file, `nosniff`, attachment for
 * every type that can carry script), so no stored file runs script on our origin; with USER_CONTENT_URL they are
 * served only on that host (user-content-origin.ts).
 */
import fs from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { mediaFiles } from '@vitalwatch/schema/db/tables';
import type { Caller, Identity } from '../auth/identity.ts';
import { authenticateFirst, callerOf } from '../http/authenticate-first.ts';
import type { Db } from '../db/database.ts';
import { HttpError, parseInput } from '../http/http-error.ts';
import { isPathProblem, parseObjectRef, type ObjectRef } from './object-paths.ts';
import { isLiveObject, mediaFileExists } from './record-media-file.ts';
import { signObjectToken, verifyObjectToken } from './signed-url-token.ts';
import { objectFile } from './upload-routes.ts';
import type { UrlSigningKey } from './url-signing-key.ts';
import { keepUserContentHeaders, setUserContentHeaders, userContentHeaders } from './user-content-headers.ts';
import { redirectToContentHost, type UserContentOrigin } from './user-content-origin.ts';

/** Signed URLs are for sharing evidence for the length of an incident, not for publishing it. */
export const MAX_SIGNED_URL_SECONDS = 24 * 60 * 60;

export type SignedUrlDeps = {
  db: Db;
  identity: Identity;
  now: () => Date;
  dir: string;
  urlSigningKey: UrlSigningKey;
  /** USER_CONTENT_URL: the only host that serves files; null = this one. */
  userContent: UserContentOrigin | null;
};

const ExpiresIn = z.number().int().min(1).max(MAX_SIGNED_URL_SECONDS);
const SignOne = z.object({ expiresIn: ExpiresIn });
const SignMany = z.object({ expiresIn: ExpiresIn, paths: z.array(z.string()).min(1).max(100) });
const Download = z.object({ token: z.string().min(1), download: z.string().optional() });

function objectRef(bucket: string, path: string): ObjectRef {
  const object = parseObjectRef(bucket, path);
  if (isPathProblem(object)) throw new HttpError(400, object.code, object.message);
  return object;
}

/**
 * Who may ask for a signed URL here: the object's owner. The contacts notified for an incident get theirs on the
 * alert page (`/a/<token>`, ack-page-routes.ts) when the user shares evidence with them.
 */
function mayRead(caller: Caller, object: ObjectRef): boolean {
  return object.ownerId !== null && object.ownerId === caller.userId;
}

async function signFor(deps: SignedUrlDeps, caller: Caller, object: ObjectRef, expiresIn: number) {
  if (!mayRead(caller, object) || !(await mediaFileExists(deps.db, caller.claims, object))) {
    // One answer for "not yours" and "not there": a path's existence is not revealed to others.
    throw new HttpError(404, 'not_found', `object ${object.bucket}/${object.path} not found`);
  }
  return signedObjectUrl(deps.urlSigningKey, object, expiresIn, deps.now());
}

/**
 * `/object/sign/{bucket}/{path}?token=…`, the `signedURL` supabase-js expects (relative to `/storage/v1`). No
 * check of who asks: callers decide that (`signFor` for the owner, the alert page for notified contacts).
 */
export async function signedObjectUrl(
  key: UrlSigningKey,
  object: { bucket: string; path: string },
  expiresIn: number,
  now: Date,
): Promise<string> {
  const token = await signObjectToken(key, object, expiresIn, now);
  return `/object/sign/${object.bucket}/${object.path}?token=${token}`;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` → an inclusive range; null = send it all; 'unsatisfiable' = 416. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (match === null) return null;
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return null;
  if (from === '') {
    const suffix = Number(to);
    return suffix === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  return start >= size || end < start ? 'unsatisfiable' : { start, end };
}

async function sendObject(
  request: FastifyRequest,
  reply: FastifyReply,
  file: string,
  row: { contentType: string; sizeBytes: number; sha256: string },
  options: { range: string | undefined; download: string | undefined; name: string; maxAge: number },
) {
  const range = parseRange(options.range, row.sizeBytes);
  // Rows written before SE1 may carry parameters (`image/svg+xml;charset=utf-8`): the headers take the bare type.
  setUserContentHeaders(
    request,
    reply,
    userContentHeaders(row.contentType, options.download || options.name, options.download !== undefined),
  );
  reply
    .header('etag', `"${row.sha256}"`)
    .header('accept-ranges', 'bytes')
    .header('cache-control', `private, max-age=${options.maxAge}`);
  if (range === 'unsatisfiable') {
    return reply.status(416).header('content-range', `bytes */${row.sizeBytes}`).send();
  }
  if (range === null) {
    return reply.header('content-length', row.sizeBytes).send(fs.createReadStream(file));
  }
  return reply
    .status(206)
    .header('content-range', `bytes ${range.start}-${range.end}/${row.sizeBytes}`)
    .header('content-length', range.end - range.start + 1)
    .send(fs.createReadStream(file, { start: range.start, end: range.end }));
}

export async function registerSignedUrlRoutes(app: FastifyInstance, deps: SignedUrlDeps): Promise<void> {
  const authenticated = { onRequest: authenticateFirst(deps.identity) };
  app.post<{ Params: { bucket: string; '*': string } }>(
    '/storage/v1/object/sign/:bucket/*',
    authenticated,
    async (request) => {
      const caller = callerOf(request);
      const { expiresIn } = parseInput(SignOne, request.body, 'body');
      const object = objectRef(request.params.bucket, request.params['*']);
      return { signedURL: await signFor(deps, caller, object, expiresIn) };
    },
  );

  app.post<{ Params: { bucket: string } }>(
    '/storage/v1/object/sign/:bucket',
    authenticated,
    async (request) => {
      const caller = callerOf(request);
      const { expiresIn, paths } = parseInput(SignMany, request.body, 'body');
      return Promise.all(
        paths.map(async (path) => {
          try {
            const signedURL = await signFor(deps, caller, objectRef(request.params.bucket, path), expiresIn);
            return { path, signedURL, error: null };
          } catch (error) {
            if (!(error instanceof HttpError)) throw error;
            return { path, signedURL: null, error: error.message };
          }
        }),
      );
    },
  );

  app.get<{ Params: { bucket: string; '*': string } }>(
    '/storage/v1/object/sign/:bucket/*',
    // After every app-level hook: a global header policy cannot loosen a file's (user-content-headers.ts).
    { onSend: keepUserContentHeaders },
    async (request, reply) => {
      const moved = redirectToContentHost(deps.userContent, request, reply);
      if (moved !== null) return moved;
      const { token, download } = parseInput(Download, request.query, 'query');
      const object = objectRef(request.params.bucket, request.params['*']);
      const now = deps.now();
      const expiresAt = await verifyObjectToken(deps.urlSigningKey, token, object, now);
      // The token is the permission; no user is signed in. A deleted object is gone even if its link is not.
      const [row] = await deps.db
        .select({
          contentType: mediaFiles.contentType,
          sizeBytes: mediaFiles.sizeBytes,
          sha256: mediaFiles.sha256,
        })
        .from(mediaFiles)
        .where(isLiveObject(object));
      if (row === undefined) {
        throw new HttpError(404, 'not_found', `object ${object.bucket}/${object.path} not found`);
      }
      return sendObject(request, reply, objectFile(deps.dir, object), row, {
        range: request.headers.range,
        download,
        name: object.path.split('/').at(-1) ?? 'file',
        maxAge: Math.max(0, Math.min(3600, Math.floor((expiresAt.getTime() - now.getTime()) / 1000))),
      });
    },
  );
}
