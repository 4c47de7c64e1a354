/**
 * How one upload attempt ended, from tus-js-client's error (or the server's answer in it). The queue acts on
 * the kind: only `refused` is final, and even then the bytes stay on the device.
 *
 * | answer                                               | kind          | the queue                              |
 * | ---------------------------------------------------- | ------------- | -------------------------------------- |
 * | completed (the server checked the hash, wrote a row) | `uploaded`    | file → uploaded                        |
 * | 409 `already_exists` (the path holds this file's id) | `exists`      | file → uploaded                        |
 * | no answer (offline, reset, stalled)                  | `offline`     | waits: online, visible, backoff        |
 * | 408, 409 offset, 423, 425, 429, 404/410, 5xx         | `retry-later` | waits: backoff (404/410: new upload)   |
 * | 401, or no session                                   | `unauthorized`| one refresh, else waits for sign-in    |
 * | verify: 422 (hash, type) or 404 (object missing)     | `resend`      | waits; sent again from the first byte  |
 * | any other 4xx (type, size, path, hash, metadata)     | `refused`     | file → failed-permanent + message      |
 */
import * as z from 'zod/mini';

export type UploadResult =
  | { readonly kind: 'uploaded' }
  | { readonly kind: 'exists' }
  | { readonly kind: 'offline'; readonly error: string }
  | { readonly kind: 'retry-later'; readonly status: number; readonly retryAfterMs: number | null }
  | { readonly kind: 'unauthorized' }
  | { readonly kind: 'resend'; readonly message: string }
  | { readonly kind: 'refused'; readonly status: number; readonly code: string; readonly message: string };

/** Thrown from tus-js-client's onBeforeRequest when there is no session to take a token from. */
export class SignedOutError extends Error {
  override readonly name = 'SignedOutError';
  constructor() {
    super('not signed in');
  }
}

/** The server's error body (`{error_code, message}`, also Supabase Storage's shape). */
const ErrorBody = z.looseObject({
  error_code: z.optional(z.string()),
  error: z.optional(z.string()),
  message: z.optional(z.string()),
});

/** What the queue needs of tus-js-client's DetailedError (structural, so a plain Error also classifies). */
interface TusErrorLike {
  readonly message?: unknown;
  readonly causingError?: unknown;
  readonly originalResponse?: {
    getStatus(): number;
    getBody(): string;
    getHeader(name: string): string | undefined;
  } | null;
}

export function readBody(text: string): { code: string | null; message: string | null } {
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    if (parsed.success) {
      return {
        code: parsed.data.error_code ?? parsed.data.error ?? null,
        message: parsed.data.message ?? null,
      };
    }
  } catch {
    // Not JSON (a proxy's page, tus's plain text): the text itself is the message.
  }
  const trimmed = text.trim();
  return { code: null, message: trimmed === '' ? null : trimmed.slice(0, 300) };
}

function retryAfterMs(header: string | undefined): number | null {
  if (header === undefined) return null;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}

const TRANSIENT = new Set([404, 408, 410, 423, 425, 429]);

export function classifyUploadError(error: unknown): Exclude<UploadResult, { kind: 'uploaded' | 'resend' }> {
  const tusError = (typeof error === 'object' && error !== null ? error : {}) as TusErrorLike;
  if (error instanceof SignedOutError || tusError.causingError instanceof SignedOutError) {
    return { kind: 'unauthorized' };
  }
  const response = tusError.originalResponse ?? null;
  const status = response?.getStatus() ?? 0;
  if (response === null || status === 0) {
    const detail =
      tusError.causingError instanceof Error
        ? tusError.causingError.message
        : String(tusError.message ?? error);
    return { kind: 'offline', error: detail };
  }
  if (status === 401) return { kind: 'unauthorized' };
  const body = readBody(response.getBody());
  if (status === 409) {
    if (body.code === 'already_exists') return { kind: 'exists' };
    if (body.code === 'offset_mismatch' || body.code === null) {
      return { kind: 'retry-later', status, retryAfterMs: null };
    }
  }
  if (status >= 500 || TRANSIENT.has(status) || status < 400) {
    return { kind: 'retry-later', status, retryAfterMs: retryAfterMs(response.getHeader('Retry-After')) };
  }
  return {
    kind: 'refused',
    status,
    code: body.code ?? `http_${status}`,
    message: body.message ?? `the server answered HTTP ${status}`,
  };
}

/** Whether tus-js-client should retry the request itself (a short network blip) before the queue takes over. */
export function isWorthRetrying(result: Exclude<UploadResult, { kind: 'uploaded' | 'resend' }>): boolean {
  return result.kind === 'offline' || result.kind === 'retry-later';
}
