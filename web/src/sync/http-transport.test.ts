import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import type { PullRequest } from '@vitalwatch/schema/protocol/pull-request';
import type { PushRequest } from '@vitalwatch/schema/protocol/push-request';
import { describe, expect, it } from 'vitest';
import { createHttpTransport, GZIP_MIN_BYTES } from './http-transport.ts';

const PULL: PullRequest = {
  protocolVersion: PROTOCOL_VERSION,
  clientId: '0190a000-0000-7000-8000-000000000001',
  cursor: 0,
};

/** A push whose JSON is well over GZIP_MIN_BYTES. */
const BIG_PUSH: PushRequest = {
  protocolVersion: PROTOCOL_VERSION,
  clientId: PULL.clientId,
  lane: 'user',
  sentAt: 1_700_000_000_000,
  mutations: Array.from({ length: 20 }, (_, i) => ({
    seq: i + 1,
    name: 'mood.upsert@1',
    args: { id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`, fields: { note: 'a day' } },
    hlc: '1700000000000-0000-d1',
    createdAt: 1_700_000_000_000,
  })),
};

const SYNC_TOKEN = 'vws_AAAAAAAAAAAAAAAAAAAAAA';
const OTHER_SYNC_TOKEN = 'vws_BBBBBBBBBBBBBBBBBBBBBB';

/** An answer that hands out a sync token, as the server does for a request with an access token. */
const withSyncToken =
  (token: string, expiresIn = 900) =>
  (): Response =>
    new Response('{}', {
      status: 200,
      headers: { 'x-sync-token': token, 'x-sync-token-expires-in': String(expiresIn) },
    });
const ok = (): Response => new Response('{}', { status: 200 });
const unauthorized = (code: string) => (): Response =>
  new Response(JSON.stringify({ error_code: code, message: 'no' }), { status: 401 });

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
  it('POSTs JSON with the bearer token and returns status, JSON body and Retry-After', async () => {
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
          accept: 'application/json',
        },
        body: JSON.stringify(PULL),
      },
    ]);
  });

  it('[CL15] warm() sends a HEAD to /sync/ping with no token and no body', async () => {
    const { seen, fetch } = fakeFetch([() => new Response(null, { status: 204 })]);
    const transport = createHttpTransport({ baseUrl: 'https://vw.example', fetch });
    await transport.warm?.();
    expect(seen).toEqual([{ url: 'https://vw.example/sync/ping', headers: {}, body: '' }]);
  });

  it('[AU8] gzips a body of 1 KiB or more and sends a smaller one as it is', async () => {
    const { seen, fetch } = fakeFetch([ok, ok]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: true });
    expect(JSON.stringify(PULL).length).toBeLessThan(GZIP_MIN_BYTES);
    expect(JSON.stringify(BIG_PUSH).length).toBeGreaterThanOrEqual(GZIP_MIN_BYTES);
    await transport.pull(PULL, 't');
    await transport.push(BIG_PUSH, 't');
    expect(seen.map((s) => s.headers['content-encoding'] ?? 'identity')).toEqual(['identity', 'gzip']);
    expect(seen.map((s) => s.body)).toEqual([JSON.stringify(PULL), JSON.stringify(BIG_PUSH)]);
  });

  it('a server that refuses gzip (415) gets the request again uncompressed, and then always', async () => {
    const { seen, fetch } = fakeFetch([
      () => new Response(null, { status: 415 }),
      () => new Response('{}', { status: 200 }),
      () => new Response('{}', { status: 200 }),
    ]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: true });
    expect((await transport.push(BIG_PUSH, 't')).status).toBe(200);
    await transport.push(BIG_PUSH, 't');
    expect(seen.map((s) => s.headers['content-encoding'] ?? 'identity')).toEqual([
      'gzip',
      'identity',
      'identity',
    ]);
    expect(seen.every((s) => s.body === JSON.stringify(BIG_PUSH))).toBe(true);
  });

  it('a body that is not JSON comes back as null; a network failure rejects', async () => {
    const { fetch } = fakeFetch([() => new Response('<html>bad gateway</html>', { status: 502 })]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: false });
    expect(await transport.pull(PULL, 't')).toEqual({ status: 502, body: null });
    await expect(transport.pull(PULL, 't')).rejects.toThrow(/fetch failed/);
  });

  it('[AU7] sends the sync token of the first answer instead of the access token, and only while it is valid', async () => {
    const clock = { ms: 1_000_000 };
    const { seen, fetch } = fakeFetch([withSyncToken(SYNC_TOKEN, 900), ok, ok, ok]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: false, now: () => clock.ms });
    await transport.pull(PULL, 'jwt-1');
    await transport.push(BIG_PUSH, 'jwt-1');
    // It stops 30 s before the server said it expires (latency, a slow clock): then the access token goes again.
    clock.ms += 869_000;
    await transport.pull(PULL, 'jwt-1');
    clock.ms += 2_000;
    await transport.pull(PULL, 'jwt-1');
    expect(seen.map((s) => s.headers.authorization)).toEqual([
      'Bearer jwt-1',
      `Bearer ${SYNC_TOKEN}`,
      `Bearer ${SYNC_TOKEN}`,
      'Bearer jwt-1',
    ]);
  });

  it('[AU20] a short-lived sync token serves three quarters of its life, not its life less 30 s', async () => {
    const clock = { ms: 1_000_000 };
    const { seen, fetch } = fakeFetch([withSyncToken(SYNC_TOKEN, 60), ok, ok, ok]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: false, now: () => clock.ms });
    await transport.pull(PULL, 'jwt-1');
    clock.ms += 40_000; // past 60 s − 30 s, within 60 s − 15 s
    await transport.pull(PULL, 'jwt-1');
    clock.ms += 6_000; // past 45 s: the last quarter
    await transport.pull(PULL, 'jwt-1');
    expect(seen.map((s) => s.headers.authorization)).toEqual([
      'Bearer jwt-1',
      `Bearer ${SYNC_TOKEN}`,
      'Bearer jwt-1',
    ]);
  });

  it('[AU7] a 401 on the sync token drops it and sends the same request once more with the access token', async () => {
    const { seen, fetch } = fakeFetch([
      withSyncToken(SYNC_TOKEN),
      unauthorized('sync_token_invalid'),
      withSyncToken(OTHER_SYNC_TOKEN),
      ok,
    ]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: false });
    await transport.pull(PULL, 'jwt-1');
    // The caller sees only the answer to the retry: no 401, nothing to refresh, nothing lost.
    expect(await transport.push(BIG_PUSH, 'jwt-1')).toEqual({ status: 200, body: {} });
    await transport.pull(PULL, 'jwt-1');
    expect(seen.map((s) => [s.url, s.headers.authorization])).toEqual([
      ['/sync/pull', 'Bearer jwt-1'],
      ['/sync/push', `Bearer ${SYNC_TOKEN}`],
      ['/sync/push', 'Bearer jwt-1'],
      ['/sync/pull', `Bearer ${OTHER_SYNC_TOKEN}`],
    ]);
    expect(seen[2]?.body).toBe(seen[1]?.body);
  });

  it('[AU7] a 401 on the access token goes back to the caller (which refreshes it), with no retry', async () => {
    const { seen, fetch } = fakeFetch([
      withSyncToken(SYNC_TOKEN),
      unauthorized('sync_token_invalid'),
      unauthorized('session_not_found'),
    ]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: false });
    await transport.pull(PULL, 'jwt-1');
    expect(await transport.pull(PULL, 'jwt-1')).toMatchObject({
      status: 401,
      body: { error_code: 'session_not_found' },
    });
    expect(seen).toHaveLength(3);
  });

  it('[AU7] never sends a sync token with another access token than the one it was issued for', async () => {
    const { seen, fetch } = fakeFetch([
      withSyncToken(SYNC_TOKEN),
      ok,
      withSyncToken(OTHER_SYNC_TOKEN),
      ok,
      ok,
    ]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: false });
    await transport.pull(PULL, 'jwt-1');
    await transport.pull(PULL, 'jwt-1');
    // A refreshed access token: the old one's sync token is not sent with it, and it gets its own.
    await transport.pull(PULL, 'jwt-2');
    await transport.pull(PULL, 'jwt-2');
    // A late request with the old access token (another round still holding it) sends that access token.
    await transport.pull(PULL, 'jwt-1');
    expect(seen.map((s) => s.headers.authorization)).toEqual([
      'Bearer jwt-1',
      `Bearer ${SYNC_TOKEN}`,
      'Bearer jwt-2',
      `Bearer ${OTHER_SYNC_TOKEN}`,
      'Bearer jwt-1',
    ]);
  });

  it('[AU7] ignores a malformed sync token, one without an expiry, and one refused before', async () => {
    const { seen, fetch } = fakeFetch([
      () =>
        new Response('{}', { headers: { 'x-sync-token': 'eyJ.not.ours', 'x-sync-token-expires-in': '900' } }),
      () => new Response('{}', { headers: { 'x-sync-token': SYNC_TOKEN } }),
      withSyncToken(SYNC_TOKEN),
      unauthorized('sync_token_invalid'),
      // The server hands out the token it just refused (its clock and the database's disagree): not taken.
      withSyncToken(SYNC_TOKEN),
      ok,
    ]);
    const transport = createHttpTransport({ baseUrl: '', fetch, gzip: false });
    for (let i = 0; i < 5; i++) await transport.pull(PULL, 'jwt-1');
    expect(seen.map((s) => s.headers.authorization)).toEqual([
      'Bearer jwt-1',
      'Bearer jwt-1',
      'Bearer jwt-1',
      `Bearer ${SYNC_TOKEN}`,
      'Bearer jwt-1',
      'Bearer jwt-1',
    ]);
  });
});
