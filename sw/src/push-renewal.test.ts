import { describe, expect, it } from 'vitest';
import { renewAlertSubscription } from './push-renewal.ts';

const ORIGIN = 'https://vitalwatch.example';
const OLD_KEY = new Uint8Array([4, 1, 2, 3]).buffer;

function subscription(endpoint: string, key: ArrayBuffer | null = OLD_KEY): PushSubscription {
  return {
    endpoint,
    options: { applicationServerKey: key, userVisibleOnly: true },
    toJSON: () => ({ endpoint, keys: { p256dh: 'p', auth: 'a' } }),
  } as unknown as PushSubscription;
}

/** A push manager that has no subscription (as after Chromium drops one) and records subscribe() calls. */
function pushManager(current: PushSubscription | null = null) {
  const subscribed: Array<{ key: unknown }> = [];
  return {
    subscribed,
    manager: {
      getSubscription: async () => current,
      subscribe: async (options?: PushSubscriptionOptionsInit) => {
        subscribed.push({ key: options?.applicationServerKey });
        return subscription('https://push.example/new');
      },
    } as Pick<PushManager, 'getSubscription' | 'subscribe'>,
  };
}

function server() {
  const calls: Array<{ method: string; path: string; body: unknown; auth: string | null }> = [];
  const fetch = async (input: string, init?: RequestInit) => {
    const url = new URL(input);
    const headers = new Headers(init?.headers);
    calls.push({
      method: init?.method ?? 'GET',
      path: url.pathname,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : null,
      auth: headers.get('authorization'),
    });
    if (url.pathname === '/push/vapid-public-key') return Response.json({ publicKey: 'BAECAw' });
    return new Response(null, { status: url.pathname === '/push/subscriptions' ? 201 : 404 });
  };
  return { calls, fetch };
}

describe('renewing an alert subscription the push service replaced', () => {
  it('subscribes again with the old key, registers the new endpoint and removes the old one', async () => {
    const push = pushManager();
    const api = server();
    const outcome = await renewAlertSubscription({
      pushManager: push.manager,
      oldSubscription: subscription('https://push.example/old'),
      newSubscription: null,
      origin: ORIGIN,
      accessToken: 'token-1',
      fetch: api.fetch,
    });
    expect(outcome).toEqual({ ok: true });
    expect(push.subscribed).toEqual([{ key: OLD_KEY }]);
    expect(api.calls).toEqual([
      {
        method: 'POST',
        path: '/push/subscriptions',
        body: { endpoint: 'https://push.example/new', keys: { p256dh: 'p', auth: 'a' } },
        auth: 'Bearer token-1',
      },
      {
        method: 'DELETE',
        path: '/push/subscriptions',
        body: { endpoint: 'https://push.example/old' },
        auth: 'Bearer token-1',
      },
    ]);
  });

  it("uses the browser's new subscription when it gives one, and the server's key when the old one is unknown", async () => {
    const given = pushManager();
    const api = server();
    await renewAlertSubscription({
      pushManager: given.manager,
      oldSubscription: null,
      newSubscription: subscription('https://push.example/given'),
      origin: ORIGIN,
      accessToken: 't',
      fetch: api.fetch,
    });
    expect(given.subscribed).toEqual([]);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /push/subscriptions']);

    const keyless = pushManager();
    const api2 = server();
    await renewAlertSubscription({
      pushManager: keyless.manager,
      oldSubscription: null,
      newSubscription: null,
      origin: ORIGIN,
      accessToken: 't',
      fetch: api2.fetch,
    });
    expect(api2.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /push/vapid-public-key',
      'POST /push/subscriptions',
    ]);
    expect(new Uint8Array(keyless.subscribed[0]!.key as Uint8Array)).toEqual(new Uint8Array([4, 1, 2, 3]));
  });

  it('signed out, it keeps the new subscription and tells the server nothing', async () => {
    const push = pushManager();
    const api = server();
    const outcome = await renewAlertSubscription({
      pushManager: push.manager,
      oldSubscription: subscription('https://push.example/old'),
      newSubscription: null,
      origin: ORIGIN,
      accessToken: null,
      fetch: api.fetch,
    });
    expect(outcome).toMatchObject({ ok: false, reason: 'signed_out' });
    expect(push.subscribed).toHaveLength(1);
    expect(api.calls).toEqual([]);
  });
});
