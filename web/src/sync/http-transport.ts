/**
 * `POST /sync/push` and `POST /sync/pull` over fetch. Request bodies are gzip-compressed with CompressionStream
 * where it exists (the browser and fetch decompress responses themselves). A server that refuses gzip (415) gets
 * the same request again uncompressed, and this transport stops compressing.
 */
import type { SyncTransport, TransportResponse } from './transport.ts';

export interface HttpTransportOptions {
  /** Origin (and path prefix) of the sync server, e.g. `https://app.example` or '' for same-origin. */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Compress request bodies (default: when CompressionStream exists). */
  gzip?: boolean;
  /** Abort a request after this long (default 60 s: 200 KB at 250 kbit/s takes ~7 s). */
  timeoutMs?: number;
}

export function createHttpTransport(options: HttpTransportOptions): SyncTransport {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.timeoutMs ?? 60_000;
  let gzip = options.gzip ?? typeof CompressionStream === 'function';

  async function post(path: string, message: unknown, token: string): Promise<TransportResponse> {
    const json = JSON.stringify(message);
    const compressed = gzip;
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
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
      return post(path, message, token);
    }
    const text = await res.text();
    const retryAfter = res.headers.get('retry-after');
    return { status: res.status, body: parseJson(text), ...(retryAfter === null ? {} : { retryAfter }) };
  }

  return {
    push: (request, token) => post('/sync/push', request, token),
    pull: (request, token) => post('/sync/pull', request, token),
  };
}

export async function gzipText(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
