/**
 * `POST /sync/push` and `POST /sync/pull` over fetch.
 *
 * - Bodies of 1 KiB or more are gzip-compressed with CompressionStream where it exists (the browser and fetch
 *   decompress responses themselves); smaller ones go as they are, because gzip's framing makes them bigger (AU8).
 *   A server that refuses gzip (415) gets the same request again uncompressed, and this transport stops compressing.
 * - The sync token (ADR 0012, AU7): a response to a request sent with the access token carries a short sync token
 *   for that access token. It is held in memory with the access token it belongs to and sent instead of it while
 *   it is valid, so an idle check-in carries 26 characters rather than a ~0.8 kB JWT; a refreshed access token
 *   never sends the old one's. A 401 on a sync token drops it and sends the same request once more with the
 *   access token (one extra round trip, never data); a 401 on the access token goes back to the caller, which
 *   refreshes it.
 */
import {
  SYNC_TOKEN_EXPIRES_IN_HEADER,
  SYNC_TOKEN_HEADER,
  SYNC_TOKEN_PATTERN,
} from '@vitalwatch/schema/protocol/sync-token';
import type { SyncTransport, TransportResponse } from './transport.ts';

export interface HttpTransportOptions {
  /** Origin (and path prefix) of the sync server, e.g. `https://app.example` or '' for same-origin. */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Compress request bodies of at least GZIP_MIN_BYTES (default: when CompressionStream exists). */
  gzip?: boolean;
  /** Abort a request after this long (default 60 s: 200 KB at 250 kbit/s takes ~7 s). */
  timeoutMs?: number;
  /** Clock (ms) for the sync token's expiry; default Date.now. */
  now?: () => number;
}

/** Smaller bodies are sent uncompressed: gzip adds ~20 bytes of framing, more than it saves on them. */
export const GZIP_MIN_BYTES = 1024;

/**
 * A sync token is not sent in the last 30 s before the server said it expires (latency, slow clocks), or in the
 * last quarter of its life when that is shorter (SPEC AU20): a token of the shortest life the server issues (60 s)
 * still serves 45 s, not 30. Sent a little late, it costs one retry with the access token (AU7).
 */
const SYNC_TOKEN_MARGIN_MS = 30_000;

function syncTokenMarginMs(lifeMs: number): number {
  return Math.min(SYNC_TOKEN_MARGIN_MS, lifeMs / 4);
}

interface HeldSyncToken {
  /** The access token it was issued for: it is sent only with that one. */
  readonly accessToken: string;
  readonly token: string;
  /** Local clock (ms) after which it is no longer sent. */
  readonly sendUntil: number;
}

export function createHttpTransport(options: HttpTransportOptions): SyncTransport {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const now = options.now ?? Date.now;
  let gzip = options.gzip ?? typeof CompressionStream === 'function';
  let held: HeldSyncToken | null = null;
  /** The last sync token refused: never taken again, should the server hand it out once more. */
  let refused: string | null = null;

  function syncTokenFor(accessToken: string): string | null {
    if (held === null || held.accessToken !== accessToken || held.sendUntil <= now()) return null;
    return held.token;
  }

  /** Keeps the sync token a response carries, for the access token its request was authenticated with. */
  function keepSyncToken(res: Response, accessToken: string): void {
    const token = res.headers.get(SYNC_TOKEN_HEADER);
    if (token === null || token === refused || !SYNC_TOKEN_PATTERN.test(token)) return;
    // A missing or unreadable expiry is NaN, and NaN > anything is false: such a token is not kept.
    const expiresIn = Number(res.headers.get(SYNC_TOKEN_EXPIRES_IN_HEADER) ?? Number.NaN);
    const sendUntil = now() + expiresIn * 1000 - syncTokenMarginMs(expiresIn * 1000);
    if (sendUntil > now()) held = { accessToken, token, sendUntil };
  }

  async function send(path: string, json: string, bearer: string): Promise<Response> {
    // UTF-8 takes at least one byte per UTF-16 unit, so only a short string needs encoding to be measured.
    const compressed =
      gzip && (json.length >= GZIP_MIN_BYTES || new TextEncoder().encode(json).length >= GZIP_MIN_BYTES);
    const headers: Record<string, string> = {
      authorization: `Bearer ${bearer}`,
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (compressed) headers['content-encoding'] = 'gzip';
    const res = await fetchFn(`${options.baseUrl}${path}`, {
      method: 'POST',
      headers,
      body: compressed ? await gzipText(json) : json,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status === 415 && compressed) {
      gzip = false;
      await discardBody(res);
      return send(path, json, bearer);
    }
    return res;
  }

  async function post(path: string, message: unknown, accessToken: string): Promise<TransportResponse> {
    const json = JSON.stringify(message);
    const syncToken = syncTokenFor(accessToken);
    let res = await send(path, json, syncToken ?? accessToken);
    if (res.status === 401 && syncToken !== null) {
      // Expired, signed out or unknown to this server: the access token decides (and brings a new sync token).
      refused = syncToken;
      if (held?.token === syncToken) held = null;
      await discardBody(res);
      res = await send(path, json, accessToken);
    }
    keepSyncToken(res, accessToken);
    const text = await res.text();
    const retryAfter = res.headers.get('retry-after');
    return { status: res.status, body: parseJson(text), ...(retryAfter === null ? {} : { retryAfter }) };
  }

  return {
    push: (request, token) => post('/sync/push', request, token),
    pull: (request, token) => post('/sync/pull', request, token),
    // CL15: a HEAD the server answers 204 without a look at the database; no token, no body.
    warm: async () => {
      await fetchFn(`${options.baseUrl}/sync/ping`, {
        method: 'HEAD',
        signal: AbortSignal.timeout(timeoutMs),
      });
    },
  };
}

export async function gzipText(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Reads a refused answer to its end, so its connection can carry the retry. */
async function discardBody(res: Response): Promise<void> {
  await res.arrayBuffer().catch(() => undefined);
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
