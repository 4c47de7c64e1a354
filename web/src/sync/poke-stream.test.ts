import { describe, expect, it } from 'vitest';
import { parseSseChunk, startPokeStream } from './poke-stream.ts';

describe('the poke stream (GET /sync/events read with fetch)', () => {
  it('splits server-sent events, skips comments and other events, and keeps an unfinished event for later', () => {
    const { events, rest } = parseSseChunk(
      'event: poke\ndata: {"type":"poke","version":3}\n\n: ping\n\nevent: other\ndata: x\n\nevent: poke\ndata: {"ty',
    );
    expect(events).toEqual(['{"type":"poke","version":3}']);
    expect(rest).toBe('event: poke\ndata: {"ty');
  });

  it('[AL32] hands each `alert` event to onAlert and each poke to onPoke, whatever their order in the stream', async () => {
    const { events, alerts } = parseSseChunk(
      'event: alert\ndata: {"kind":"alert"}\n\nevent: poke\ndata: {"type":"poke","version":4}\n\n',
    );
    expect(events).toEqual(['{"type":"poke","version":4}']);
    expect(alerts).toEqual(['{"kind":"alert"}']);

    const seen: Array<[string, unknown]> = [];
    const stream = startPokeStream({
      getAccessToken: async () => 'token-1',
      onPoke: (message) => seen.push(['poke', message]),
      onAlert: (message) => seen.push(['alert', message]),
      fetch: async () =>
        new Response('event: alert\ndata: {"kind":"alert","incidentId":"i"}\n\n', {
          headers: { 'content-type': 'text/event-stream' },
        }),
      setTimeout: () => undefined,
    });
    await expect.poll(() => seen.length).toBe(1);
    expect(seen).toEqual([['alert', { kind: 'alert', incidentId: 'i' }]]);
    stream.stop();
  });

  it('sends the bearer token, delivers each poke across chunk boundaries, and reconnects after the stream ends', async () => {
    const encoder = new TextEncoder();
    const requests: string[] = [];
    const timers: Array<() => void> = [];
    const pokes: unknown[] = [];
    const chunks = [
      'event: poke\ndata: {"type":"poke",',
      '"version":1}\n\n: ping\n\nevent: poke\ndata: {"type":"poke","version":2}\n\n',
    ];
    const fetchFn: typeof fetch = async (_input, init) => {
      requests.push(new Headers(init?.headers).get('authorization') ?? '');
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of requests.length === 1 ? chunks : []) controller.enqueue(encoder.encode(chunk));
          controller.close();
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    };
    const stream = startPokeStream({
      getAccessToken: async () => 'token-1',
      onPoke: (message) => pokes.push(message),
      fetch: fetchFn,
      setTimeout: (callback) => timers.push(callback),
    });
    await expect.poll(() => timers.length).toBe(1);
    expect(requests).toEqual(['Bearer token-1']);
    expect(pokes).toEqual([
      { type: 'poke', version: 1 },
      { type: 'poke', version: 2 },
    ]);
    timers[0]?.();
    await expect.poll(() => requests.length).toBe(2);
    stream.stop();
  });

  it('with no session it does not connect until woken', async () => {
    let token: string | null = null;
    let calls = 0;
    const stream = startPokeStream({
      getAccessToken: async () => token,
      onPoke: () => undefined,
      fetch: async () => {
        calls += 1;
        return new Response(new ReadableStream({ start: (c) => c.close() }));
      },
      setTimeout: () => undefined,
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toBe(0);
    token = 'signed-in';
    stream.wake();
    await expect.poll(() => calls).toBe(1);
    stream.stop();
  });
});
