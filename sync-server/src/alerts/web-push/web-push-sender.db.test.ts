/**
 * The Web Push channel against a local push service that checks VAPID and decrypts every message (RFC 8291) as a
 * browser's push service and the browser would: what arrives is exactly what the sender meant.
 */
import net from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { pushSubscriptions, users } from '@vitalwatch/schema/db/tables';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { describeOnEachDatabase } from '../../../test/test-databases.ts';
import { loadVapidKeys, type VapidKeys } from './vapid-keys.ts';
import {
  startTestPushService,
  type BrowserSubscription,
  type TestPushService,
} from '../../../test/push-endpoint.ts';
import {
  createWebPushSender,
  MAX_PUSH_PAYLOAD_BYTES,
  type AlertPushPayload,
  type PushSendOptions,
  type WebPushSender,
} from './web-push-sender.ts';

const alert: AlertPushPayload = {
  kind: 'alert',
  incidentId: '0190b2f4-7c3a-7d2e-9a51-3f6e8b1c2d4e',
  title: 'Ama needs help',
  body: 'Ama triggered an SOS at 14:02 near Osu, Accra. Tap to see where and to answer.',
  url: 'https://vw.example.org/a/Xk3_9aQ-Lm2Pz7Rt',
};
const options: PushSendOptions = {
  topic: '0190b2f47c3a7d2e9a513f6e8b1c2d4e',
  ttlSeconds: 600,
  urgency: 'high',
};

describeOnEachDatabase('Web Push sender', (database) => {
  let service: TestPushService;
  let vapid: VapidKeys;
  let sender: WebPushSender;
  const clock = { ms: Date.parse('2026-03-01T14:02:00Z') };

  beforeAll(async () => {
    service = await startTestPushService();
    vapid = await loadVapidKeys({ env: {}, dataDir: null, publicUrl: 'https://vw.example.org' });
    sender = createWebPushSender({ db: database().db, vapid, now: () => new Date(clock.ms) });
  });
  afterAll(() => service.close());
  beforeEach(() => {
    service.received.length = 0;
    service.refused.length = 0;
    service.answered.length = 0;
  });

  async function newUser(): Promise<UserId> {
    const id = newId<UserId>();
    await database()
      .db.insert(users)
      .values({ id, email: `${id}@example.org` });
    return id;
  }

  /** A device of `userId` subscribes (as the browser would, with our key) and registers the subscription. */
  async function subscribeDevice(userId: UserId, applicationServerKey = vapid.publicKey) {
    const subscription = service.subscribe({ applicationServerKey });
    await database().db.insert(pushSubscriptions).values({
      userId,
      endpoint: subscription.endpoint,
      p256dh: subscription.keys.p256dh,
      auth: subscription.keys.auth,
    });
    return subscription;
  }

  async function rowOf(subscription: BrowserSubscription) {
    const [row] = await database()
      .db.select()
      .from(pushSubscriptions)
      .where(eq(pushSubscriptions.endpoint, subscription.endpoint));
    return row;
  }

  it('[AL14] every device of the user decrypts exactly the payload, with TTL, Urgency and Topic headers', async () => {
    const kofi = await newUser();
    const phone = await subscribeDevice(kofi);
    const laptop = await subscribeDevice(kofi);

    const result = await sender.sendToUser(kofi, alert, options);

    expect(result).toEqual({
      outcome: 'accepted',
      providerMessageId: `push:2/2:${options.topic}`,
      status: 'sent',
    });
    expect(service.refused).toEqual([]);
    expect(service.received.map((m) => m.endpoint).sort()).toEqual([phone.endpoint, laptop.endpoint].sort());
    for (const message of service.received) {
      expect(message.payload).toEqual(alert);
      expect(message.headers).toEqual({ ttl: '600', urgency: 'high', topic: options.topic });
      expect(message.subject).toBe('mailto:alerts@vw.example.org');
    }
    expect((await rowOf(phone))?.lastSuccessAt).toEqual(new Date(clock.ms));
  });

  it('[AL14] a 410 or 404 removes that subscription; the other device still gets the message', async () => {
    const kofi = await newUser();
    const revoked = await subscribeDevice(kofi);
    const lost = await subscribeDevice(kofi);
    const working = await subscribeDevice(kofi);
    service.unsubscribe(revoked.endpoint);
    service.answer(lost.endpoint, 404);

    const result = await sender.sendToUser(kofi, alert, options);

    expect(result).toEqual({
      outcome: 'accepted',
      providerMessageId: `push:1/3:${options.topic}`,
      status: 'sent',
    });
    expect(service.answered).toEqual(
      expect.arrayContaining([
        { endpoint: revoked.endpoint, status: 410 },
        { endpoint: lost.endpoint, status: 404 },
      ]),
    );
    expect(await rowOf(revoked)).toBeUndefined();
    expect(await rowOf(lost)).toBeUndefined();
    expect(await rowOf(working)).toBeDefined();
    expect(service.received.map((m) => m.endpoint)).toEqual([working.endpoint]);
  });

  it('no subscription, or every one gone, is a permanent no_subscription', async () => {
    const nobody = await newUser();
    expect(await sender.sendToUser(nobody, alert, options)).toMatchObject({
      outcome: 'permanent',
      errorCode: 'no_subscription',
    });

    const kofi = await newUser();
    const only = await subscribeDevice(kofi);
    service.unsubscribe(only.endpoint);
    expect(await sender.sendToUser(kofi, alert, options)).toMatchObject({
      outcome: 'permanent',
      errorCode: 'no_subscription',
    });
    expect(await rowOf(only)).toBeUndefined();
    expect(service.received).toEqual([]);
  });

  it('429 (with Retry-After), 5xx and network failures are transient and keep the subscription', async () => {
    const kofi = await newUser();
    const busy = await subscribeDevice(kofi);
    service.answer(busy.endpoint, 429, { retryAfter: '30' });
    expect(await sender.sendToUser(kofi, alert, options)).toMatchObject({
      outcome: 'transient',
      errorCode: 'push_rate_limited',
      retryAfterMs: 30_000,
    });

    service.answer(busy.endpoint, 503);
    expect(await sender.sendToUser(kofi, alert, options)).toMatchObject({
      outcome: 'transient',
      errorCode: 'push_http_503',
    });
    expect(await rowOf(busy)).toBeDefined();

    // A push service that is not there at all.
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const yaw = await newUser();
    await database()
      .db.insert(pushSubscriptions)
      .values({
        userId: yaw,
        endpoint: `http://127.0.0.1:${closedPort}/wpush/x`,
        p256dh: busy.keys.p256dh,
        auth: busy.keys.auth,
      });
    expect(await sender.sendToUser(yaw, alert, options)).toMatchObject({
      outcome: 'transient',
      errorCode: 'push_network',
    });

    service.answer(busy.endpoint, null);
    expect(await sender.sendToUser(kofi, alert, options)).toMatchObject({ outcome: 'accepted' });
  });

  it('a push service that does not answer in time is a transient push_timeout', async () => {
    const kofi = await newUser();
    await subscribeDevice(kofi);
    const hanging = createWebPushSender({
      db: database().db,
      vapid,
      timeoutMs: 20,
      fetchImpl: (_input, init) =>
        new Promise<Response>((_resolve, reject) => {
          const signal = init?.signal;
          signal?.addEventListener('abort', () => reject(signal.reason as Error));
        }),
    });
    expect(await hanging.sendToUser(kofi, alert, options)).toMatchObject({
      outcome: 'transient',
      errorCode: 'push_timeout',
    });
  });

  it('a refusal of our key (403) is permanent: retrying cannot help', async () => {
    const kofi = await newUser();
    // Subscribed with another server's key: the push service refuses our JWT for it.
    const other = await loadVapidKeys({ env: {}, dataDir: null });
    const foreign = await subscribeDevice(kofi, other.publicKey);
    const result = await sender.sendToUser(kofi, alert, options);
    expect(result).toMatchObject({ outcome: 'permanent', errorCode: 'push_rejected' });
    expect(result.outcome === 'permanent' && result.message).toMatch(/push_http_403 .* answered 403/);
    expect(service.refused).toEqual([expect.objectContaining({ endpoint: foreign.endpoint, status: 403 })]);
    expect(await rowOf(foreign)).toBeDefined();
  });

  it('an over-long body is shortened to fit the payload limit, never refused', async () => {
    const kofi = await newUser();
    await subscribeDevice(kofi);
    const long = { ...alert, body: 'Ünïcödé ✓ '.repeat(1000) };
    expect(await sender.sendToUser(kofi, long, options)).toMatchObject({ outcome: 'accepted' });
    const [message] = service.received;
    expect(Buffer.byteLength(message?.text ?? '')).toBeLessThanOrEqual(MAX_PUSH_PAYLOAD_BYTES);
    const payload = message?.payload as AlertPushPayload;
    expect(payload.body.endsWith('…')).toBe(true);
    expect(long.body.startsWith(payload.body.slice(0, -1))).toBe(true);
    expect({ ...payload, body: '' }).toEqual({ ...alert, body: '' });
  });

  it('refuses a topic a push service would not accept (a bug in the caller)', async () => {
    const kofi = await newUser();
    await expect(sender.sendToUser(kofi, alert, { ...options, topic: 'incident:1' })).rejects.toThrow(
      TypeError,
    );
    await expect(sender.sendToUser(kofi, alert, { ...options, topic: 'x'.repeat(33) })).rejects.toThrow(
      TypeError,
    );
  });
});
