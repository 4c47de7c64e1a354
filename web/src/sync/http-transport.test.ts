import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import type { PullRequest } from '@vitalwatch/schema/protocol/pull-request';
import { describe, expect, it } from 'vitest';
import { createHttpTransport } from './http-transport.ts';

const PULL: PullRequest = {
  protocolVersion: PROTOCOL_VERSION,
  clientId: '0190a000-0000-7000-8000-000000000001',
  cursor: 0,
};

interface Seen {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A fetch that records what it was sent (decompressing gzip) and answers from a script. */
function fakeFetch(answers: Array<(seen: Seen) => Response>) {
  const seen: Seen[] = [];
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const raw = init?.body;
    let body = typeof raw === 'string' ? raw : '';
    if (raw instanceof Uint8Array) {
      const bytes = new Uint8Array(raw);
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
      body = await new Response(stream).text();
    }
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const record = { url, headers, body };
    seen.push(record);
    const answer = answers.shift();
    if (answer === undefined) throw new TypeError('fetch failed');
    return answer(record);
  };
  return { seen, fetch: fetchFn };
}

describe('http transport', () => {
  it('POSTs gzip-compressed JSON with the bearer token and returns status, JSON body and Retry-After', async () => {
    const { seen, fetch } = fakeFetch([
      () =>
        new Response(JSON.stringify({ error_code: 'busy' }), {
          status: 503,
          headers: { 'retry-after': '12' },
        }),
    ]);
    const transport = createHttpTransport({ baseUrl: 'https://vw.example', fetch, gzip: true });
    expect(await transport.pull(PULL, 'tok')).toEqual({
      status: 503,
      body: { error_code: 'busy' },
      retryAfter: '12',
    });
    expect(seen).toEqual([
      {
        url: 'https://vw.example/sync/pull',
        headers: {
          authorization: 'Bearer tok',
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          accept: 'application/json',
        },
        body: JSON.stringify(PULL),
      },
    ]);
  });

  it('a server that refuses gzip (415) gets the request again uncompressed, and then always', async () => {
    const { seen, fetch } = fakeFetch([
      () => new Response(null, { status: 415 }),
      () => new Response('{}', { status: 200 }),
      () => new Response('{}', { status: 200 }),
    ]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: true });
    expect((await transport.pull(PULL, 't')).status).toBe(200);
    await transport.pull(PULL, 't');
    expect(seen.map((s) => s.headers['content-encoding'] ?? 'identity')).toEqual([
      'gzip',
      'identity',
      'identity',
    ]);
    expect(seen.every((s) => s.body === JSON.stringify(PULL))).toBe(true);
  });

  it('a body that is not JSON comes back as null; a network failure rejects', async () => {
    const { fetch } = fakeFetch([() => new Response('<html>bad gateway</html>', { status: 502 })]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: false });
    expect(await transport.pull(PULL, 't')).toEqual({ status: 502, body: null });
    await expect(transport.pull(PULL, 't')).rejects.toThrow(/fetch failed/);
  });
});
