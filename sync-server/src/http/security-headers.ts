/**
 * Security headers on every response (SPEC SE35, @fastify/helmet).
 *
 * The Content-Security-Policy allows what the built web app needs and nothing else: its own scripts, styles,
 * images, manifest and service worker, and fetches to our origin plus the auth origin the app learns from
 * `/config.json` (Supabase, or PUBLIC_URL when the page is reached by another address). The app has no inline
 * script or style, uses no `eval`, frames nothing and loads no media from URLs (recordings are uploaded, not
 * played back), so none of those is allowed. `frame-ancestors 'none'` and `X-Frame-Options: DENY` keep every page
 * out of other sites' frames; `Referrer-Policy: no-referrer` keeps alert links (`/a/<token>`, secrets) out of
 * Referer headers. HSTS only when PUBLIC_URL is https: on plain http it would be ignored anyway, and on a LAN
 * address it must not pin a browser to https.
 *
 * helmet sets these on the raw response in `onRequest`; a route's own `reply.header(...)` is written later with
 * `writeHead` and wins, so the alert page and stored files keep the stricter policies they set themselves.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export type SecurityHeaderOptions = {
  /** Our public origin (PUBLIC_URL); null = each request's own. */
  publicUrl: string | null;
  /** Where the app's auth and storage calls go when that is not our origin (SUPABASE_URL). */
  supabaseUrl: string | null;
};

/** One year; browsers only honour it over https. */
const HSTS_MAX_AGE_SECONDS = 31_536_000;

export function contentSecurityPolicy(options: SecurityHeaderOptions): Record<string, string[]> {
  const origins = [options.publicUrl, options.supabaseUrl].flatMap((url) =>
    url === null ? [] : [new URL(url).origin],
  );
  const https = options.publicUrl?.startsWith('https:') === true;
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'"],
    'img-src': ["'self'"],
    'font-src': ["'self'"],
    'connect-src': ["'self'", ...new Set(origins)],
    'worker-src': ["'self'"],
    'manifest-src': ["'self'"],
    'media-src': ["'none'"],
    'object-src': ["'none'"],
    'frame-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    // On plain http this would send the page's own requests to https, which nothing answers.
    ...(https && { 'upgrade-insecure-requests': [] }),
  };
}

export async function installSecurityHeaders(
  app: FastifyInstance,
  options: SecurityHeaderOptions,
): Promise<void> {
  const https = options.publicUrl?.startsWith('https:') === true;
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy(options) },
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: https ? { maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: false } : false,
  });
}
