import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { eq } from 'drizzle-orm';
import webPush from 'web-push';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pushSubscriptions } from '@vitalwatch/schema/db/tables';
import type { UserId } from '@vitalwatch/schema/ids';
import { describeOnEachDatabase } from '../../../test/test-databases.ts';
import { embeddedIdentity } from '../../auth/identity.ts';
import { registerEmbeddedAuthRoutes } from '../../auth/embedded-auth-routes.ts';
import { SessionEndHub } from '../../auth/session-end-hub.ts';
import { generateSigningKey } from '../../auth/signing-key.ts';
import { withUser } from '../../db/with-user.ts';
import { installErrorHandler } from '../../http/http-error.ts';
import { signUp, type TestUser } from '../../../test/sync-test-kit.ts';
import { MAX_SUBSCRIPTIONS_PER_USER, registerPushSubscriptionRoutes } from './push-subscription-routes.ts';

/** What a browser's PushSubscription.toJSON() gives, for an endpoint at FCM. */
function browserSubscription(endpoint = `https://fcm.googleapis.com/fcm/send/${randomUUID()}`) {
  const keys = createECDH('prime256v1');
  return {
    endpoint,
    expirationTime: null,
    keys: { p256dh: keys.generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

describeOnEachDatabase('push subscription routes', (database) => {
  let app: FastifyInstance;
  const clock = { ms: Date.now() };
  const vapid = webPush.generateVAPIDKeys();
  let ama: TestUser;
  let kofi: TestUser;

  beforeAll(async () => {
    const { db } = database();
    const now = () => new Date(clock.ms);
    const key = await generateSigningKey();
    const issuer = 'http://127.0.0.1/auth/v1';
    const identity = embeddedIdentity(db, key, issuer);
    app = Fastify();
    installErrorHandler(app);
    await registerEmbeddedAuthRoutes(app, {
      db,
      identity,
      key,
      issuer,
      accessTokenTtlSeconds: 900,
      sessionTtlDays: 30,
      now,
      sessionEnds: new SessionEndHub(),
    });
    await registerPushSubscriptionRoutes(app, { db, identity, vapidPublicKey: vapid.publicKey, now });
    ama = await signUp(app);
    kofi = await signUp(app);
  });
  afterAll(() => app.close());

  function send(
    method: 'POST' | 'DELETE',
    user: TestUser | null,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return app.inject({
      method,
      url: '/push/subscriptions',
      payload: JSON.stringify(body),
      headers: {
        'content-type': 'application/json',
        ...(user !== null && { authorization: `Bearer ${user.token}` }),
        ...headers,
      },
    });
  }

  async function rowsOf(endpoint: string) {
    return database().db.select().from(pushSubscriptions).where(eq(pushSubscriptions.endpoint, endpoint));
  }

  async function countOf(userId: UserId): Promise<number> {
    const rows = await database()
      .db.select({ id: pushSubscriptions.id })
      .from(pushSubscriptions)
      .where(eq(pushSubscriptions.userId, userId));
    return rows.length;
  }

  it('serves the VAPID public key without sign-in', async () => {
    const response = await app.inject({ method: 'GET', url: '/push/vapid-public-key' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ publicKey: vapid.publicKey });
    expect(response.headers['cache-control']).toBe('no-cache');
  });

  it('refuses to subscribe or unsubscribe without a valid bearer token (401), writing nothing', async () => {
    const subscription = browserSubscription();
    for (const method of ['POST', 'DELETE'] as const) {
      const anonymous = await send(method, null, subscription);
      expect(anonymous.statusCode, method).toBe(401);
      expect(anonymous.json()).toMatchObject({ error_code: 'no_authorization' });
      const forged = await send(method, null, subscription, { authorization: 'Bearer not.a.jwt' });
      expect(forged.statusCode, method).toBe(401);
      expect(forged.json()).toMatchObject({ error_code: 'bad_jwt' });
    }
    expect(await rowsOf(subscription.endpoint)).toEqual([]);
  });

  it('refuses malformed subscriptions with 400 naming the field', async () => {
    const good = browserSubscription();
    const offCurve = Buffer.from(good.keys.p256dh, 'base64url');
    offCurve[64] = (offCurve[64] ?? 0) ^ 1;
    const cases: [unknown, string][] = [
      [{ ...good, endpoint: 'http://fcm.googleapis.com/fcm/send/x' }, 'body.endpoint'],
      [{ ...good, endpoint: 'https://10.0.0.5/push' }, 'body.endpoint'],
      [{ ...good, endpoint: 'https://metadata.google.internal/x' }, 'body.endpoint'],
      [{ ...good, endpoint: 'https://push.example.org:8443/x' }, 'body.endpoint'],
      [{ ...good, endpoint: `https://fcm.googleapis.com/${'x'.repeat(2048)}` }, 'body.endpoint'],
      [{ ...good, endpoint: 'not a url' }, 'body.endpoint'],
      [{ ...good, keys: { auth: good.keys.auth } }, 'body.keys.p256dh'],
      [{ ...good, keys: { ...good.keys, p256dh: good.keys.p256dh.slice(1) } }, 'body.keys.p256dh'],
      [{ ...good, keys: { ...good.keys, p256dh: offCurve.toString('base64url') } }, 'body.keys.p256dh'],
      [{ ...good, keys: { ...good.keys, auth: randomBytes(12).toString('base64url') } }, 'body.keys.auth'],
      [{ ...good, keys: { ...good.keys, auth: `${good.keys.auth}==` } }, 'body.keys.auth'],
      [{ ...good, expirationTime: 'soon' }, 'body.expirationTime'],
      [{ ...good, extra: true }, 'body'],
      [null, 'body'],
    ];
    for (const [body, field] of cases) {
      const response = await send('POST', ama, body);
      expect(response.statusCode, JSON.stringify(body).slice(0, 120)).toBe(400);
      const error = response.json<{ error_code: string; message: string }>();
      expect(error.error_code).toBe('validation_failed');
      expect(error.message).toContain(`${field}:`);
    }
    expect(await rowsOf(good.endpoint)).toEqual([]);
    const broken = await app.inject({
      method: 'POST',
      url: '/push/subscriptions',
      payload: '{"endpoint":',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ama.token}` },
    });
    expect(broken.json()).toMatchObject({ error_code: 'malformed_json' });
  });

  it('creates a subscription (201), then updates the same endpoint in place (200)', async () => {
    const first = browserSubscription();
    const created = await send('POST', ama, first, { 'user-agent': 'Chromium test' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({ endpoint: first.endpoint });
    const [row] = await rowsOf(first.endpoint);
    expect(row).toMatchObject({
      userId: ama.userId,
      p256dh: first.keys.p256dh,
      auth: first.keys.auth,
      userAgent: 'Chromium test',
      createdAt: new Date(clock.ms),
      lastSuccessAt: null,
    });

    clock.ms += 1000;
    const renewed = { ...browserSubscription(first.endpoint), expirationTime: clock.ms + 86_400_000 };
    const again = await send('POST', ama, renewed);
    expect(again.statusCode).toBe(200);
    const rows = await rowsOf(first.endpoint);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: row?.id,
      userId: ama.userId,
      p256dh: renewed.keys.p256dh,
      auth: renewed.keys.auth,
      createdAt: row?.createdAt,
    });
  });

  it('moves an endpoint to whoever subscribes it last (another account on the same browser)', async () => {
    const shared = browserSubscription();
    expect((await send('POST', ama, shared)).statusCode).toBe(201);
    await database()
      .db.update(pushSubscriptions)
      .set({ lastSuccessAt: new Date(clock.ms) })
      .where(eq(pushSubscriptions.endpoint, shared.endpoint));

    clock.ms += 1000;
    // Kofi signs in on the browser Ama used. RLS hides Ama's row from Kofi; the server moves it anyway.
    const moved = await send('POST', kofi, shared);
    expect(moved.statusCode).toBe(201);
    const rows = await rowsOf(shared.endpoint);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      userId: kofi.userId,
      createdAt: new Date(clock.ms),
      lastSuccessAt: null,
    });

    // Ama no longer sees it, nor can she remove it.
    const seenByAma = await withUser(database().db, { sub: ama.userId, role: 'authenticated' }, (tx) =>
      tx.select().from(pushSubscriptions).where(eq(pushSubscriptions.endpoint, shared.endpoint)),
    );
    expect(seenByAma).toEqual([]);
    const amaDelete = await send('DELETE', ama, { endpoint: shared.endpoint });
    expect(amaDelete.statusCode).toBe(404);
    expect(amaDelete.json()).toMatchObject({ error_code: 'not_found' });
    expect(await rowsOf(shared.endpoint)).toHaveLength(1);
  });

  it('deletes only the caller’s own subscription (204), then 404', async () => {
    const mine = browserSubscription();
    const theirs = browserSubscription();
    await send('POST', kofi, mine);
    await send('POST', ama, theirs);

    const removed = await send('DELETE', kofi, { endpoint: mine.endpoint });
    expect(removed.statusCode).toBe(204);
    expect(await rowsOf(mine.endpoint)).toEqual([]);
    expect((await send('DELETE', kofi, { endpoint: mine.endpoint })).statusCode).toBe(404);
    expect((await send('DELETE', kofi, { endpoint: theirs.endpoint })).statusCode).toBe(404);
    expect(await rowsOf(theirs.endpoint)).toHaveLength(1);

    const malformed = await send('DELETE', kofi, { endpoint: mine.endpoint, keys: {} });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json<{ message: string }>().message).toContain('body:');
  });

  it(`keeps at most ${MAX_SUBSCRIPTIONS_PER_USER} subscriptions per user, dropping the least recently alive`, async () => {
    const yaw = await signUp(app);
    const endpoints: string[] = [];
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_USER + 2; i++) {
      clock.ms += 1000;
      const subscription = browserSubscription();
      endpoints.push(subscription.endpoint);
      expect((await send('POST', yaw, subscription)).statusCode).toBe(201);
      if (i === 0) {
        // The oldest device keeps working: its recent success keeps it.
        await database()
          .db.update(pushSubscriptions)
          .set({ lastSuccessAt: new Date(clock.ms + 60_000) })
          .where(eq(pushSubscriptions.endpoint, subscription.endpoint));
      }
    }
    expect(await countOf(yaw.userId)).toBe(MAX_SUBSCRIPTIONS_PER_USER);
    expect(await rowsOf(endpoints[0] ?? '')).toHaveLength(1);
    expect(await rowsOf(endpoints[1] ?? '')).toEqual([]);
    expect(await rowsOf(endpoints[2] ?? '')).toEqual([]);
    expect(await rowsOf(endpoints[3] ?? '')).toHaveLength(1);
  });
});
