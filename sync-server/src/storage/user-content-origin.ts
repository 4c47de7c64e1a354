/**
 * An optional second origin for users' files (USER_CONTENT_URL, SPEC SE4), as googleusercontent.com is for
 * Google: the only host that serves stored files, and one that serves nothing else. A file that somehow ran
 * script there (a browser that ignores the sandbox CSP and the attachment header) would find no session, no
 * IndexedDB and no service worker of the app: those belong to the app's origin.
 *
 * - On the app's host, a download link (`GET /storage/v1/object/sign/…?token=…`) answers 307 to the same path and
 *   query on the content host. So the links supabase-js builds (relative to the app's `/storage/v1`) keep working,
 *   and the app's origin never streams a user's bytes.
 * - On the content host, everything but those downloads is 404: no app page, no API, no sign-in.
 *
 * Both run by the request's Host (fastify's `request.host`, X-Forwarded-Host only with TRUST_PROXY): point both
 * names at this server, or the proxy in front of it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../http/http-error.ts';

export const DOWNLOAD_PREFIX = '/storage/v1/object/sign/';

export type UserContentOrigin = {
  /** `https://files.example.net`: no path, no trailing slash. */
  readonly url: string;
  readonly host: string;
};

export function userContentOrigin(url: string | null): UserContentOrigin | null {
  if (url === null) return null;
  const parsed = new URL(url);
  return { url: parsed.origin, host: parsed.host };
}

function isOn(origin: UserContentOrigin, request: FastifyRequest): boolean {
  return request.host.toLowerCase() === origin.host;
}

/** On the app's host, a download moves to the content host; returns the reply then, or null to serve here. */
export function redirectToContentHost(
  origin: UserContentOrigin | null,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply | null {
  if (origin === null || isOn(origin, request)) return null;
  return reply
    .status(307)
    .header('location', `${origin.url}${request.url}`)
    .header('cache-control', 'no-store')
    .send();
}

/** On the content host, only downloads are answered (an app-level hook: it sees every request first). */
export function serveOnlyFilesOnContentHost(app: FastifyInstance, origin: UserContentOrigin | null): void {
  if (origin === null) return;
  app.addHook('onRequest', async (request, reply) => {
    if (!isOn(origin, request)) return;
    const isDownload =
      (request.method === 'GET' || request.method === 'HEAD') && request.url.startsWith(DOWNLOAD_PREFIX);
    if (!isDownload) return reply.status(404).send(notFound(request.method, request.url.split('?')[0] ?? ''));
  });
}
