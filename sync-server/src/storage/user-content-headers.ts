/**
 * The headers every response that carries a user's file (or could, such as the upload endpoint's) goes out with,
 * so that no stored file ever runs script on our origin (SPEC SE2, docs/security.md "Stored files"):
 *
 * | stored kind                        | Content-Disposition          | Content-Security-Policy                   |
 * | ---------------------------------- | ---------------------------- | ----------------------------------------- |
 * | audio, raster image (jpeg/png/…)   | inline (attachment on ask)   | MEDIA_CSP: sandbox allow-same-origin, …   |
 * | svg, pdf, json, csv, anything else | attachment                   | SCRIPTLESS_CSP: sandbox; default-src none |
 *
 * plus `X-Content-Type-Options: nosniff` everywhere. The type comes from the stored bare media type (SE1), never
 * from the device's string with its parameters, so `image/svg+xml;charset=utf-8` is an SVG here too.
 *
 * Why two policies: audio opened straight from a link plays in Chromium's media document, which loads the file
 * again from the document's origin; under `sandbox` alone that origin is opaque and the load is refused (measured
 * in Chromium: readyState 0, "blocked by CORS policy"). `allow-same-origin` without `allow-scripts` keeps the
 * origin for that load and still runs no script. Types that can carry script get no such allowance, and are
 * downloaded rather than shown.
 *
 * The headers are set again in a route-level onSend hook (`keepUserContentHeaders`), which runs after every
 * app-level hook, so a global header policy (helmet's CSP for the app's pages) cannot loosen them.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { essenceOf, mediaKindOf } from './media-types.ts';

/** For every file that may carry script, and for every other answer of the storage routes. */
export const SCRIPTLESS_CSP = "sandbox; default-src 'none'";

/** For audio and raster images shown inline: no script, but the media document may load the file itself. */
export const MEDIA_CSP =
  "sandbox allow-same-origin; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'";

export type UserContentHeaders = {
  'content-type': string;
  'content-disposition': string;
  'content-security-policy': string;
  'x-content-type-options': 'nosniff';
};

/** Whether a browser may show this stored type in place: audio and raster images, which carry no script. */
export function isInlineSafe(contentType: string): boolean {
  const kind = mediaKindOf(contentType);
  return kind === 'audio' || kind === 'image';
}

/**
 * The headers for a stored file of type `contentType`, named `filename` when saved. `download` (the signed
 * link's `?download`) asks for an attachment whatever the type.
 */
export function userContentHeaders(
  contentType: string,
  filename: string,
  download: boolean,
): UserContentHeaders {
  const inline = isInlineSafe(contentType) && !download;
  const safeName = filename.replace(/[^A-Za-z0-9._ -]/g, '_');
  return {
    // The bare type, lower case: what the checks were made against (SE1).
    'content-type': essenceOf(contentType) || 'application/octet-stream',
    'content-disposition': inline ? 'inline' : `attachment; filename="${safeName}"`,
    'content-security-policy': inline ? MEDIA_CSP : SCRIPTLESS_CSP,
    'x-content-type-options': 'nosniff',
  };
}

const decided = new WeakMap<FastifyRequest, UserContentHeaders>();

/** Sets a file's headers on the reply, and keeps them for `keepUserContentHeaders`. */
export function setUserContentHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  headers: UserContentHeaders,
): void {
  decided.set(request, headers);
  void reply.headers(headers);
}

/**
 * A route-level onSend hook: puts the file's headers back (or, on any other answer of the route, the scriptless
 * policy and nosniff) after whatever an app-level hook set.
 */
export async function keepUserContentHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  const headers = decided.get(request);
  if (headers !== undefined) {
    void reply.headers(headers);
  } else {
    void reply.header('content-security-policy', SCRIPTLESS_CSP).header('x-content-type-options', 'nosniff');
  }
  return payload;
}
