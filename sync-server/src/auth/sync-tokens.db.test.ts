import { createHash } from 'node:crypto';
import http from 'node:http';
import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { syncClients, syncTokens } from '@vitalwatch/schema/db/tables';
import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { useSupabaseStandIn } from '../../test/test-app.ts';
import {
  mutation,
  openEventStream,
  post,
  pushBody,
  responseJson,
  startSyncServer,
  type SyncServer,
} from '../../test/sync-test-kit.ts';

const PASSWORD = 'a long enough passphrase';

type Account = { userId: UserId; accessToken: string; refreshToken: string; email: string };

async function signUp(app: FastifyInstance): Promise<Account> {
  const email = `st-${newId()}@example.org`;
  const up = await app.inject({
    method: 'POST',
    url: '/auth/v1/signup',
    payload: { email, password: PASSWORD },
  });
  if (up.statusCode !== 200) throw new Error(`sign-up: ${up.body}`);
  // Sign-up answers the user without a session (SE45); the session comes from signing in.
  const res = await app.inject({
    method: 'POST',
    url: '/auth/v1/token?grant_type=password',
    payload: { email, password: PASSWORD },
  });
  if (res.statusCode !== 200) throw new Error(`sign-in: ${res.body}`);
  const body = res.json<{ access_token: string; refresh_token: string; user: { id: UserId } }>();
  return { userId: body.user.id, accessToken: body.access_token, refreshToken: body.refresh_token, email };
}

const pullBody = (cursor = 0) => ({ protocolVersion: PROTOCOL_VERSION, clientId: newId(), cursor });

function pullWith(app: FastifyInstance, bearer: string, cursor = 0) {
  return post(app, '/sync/pull', bearer, pullBody(cursor));
}

function syncTokenOf(res: LightMyRequestResponse): string {
  const token = res.headers['x-sync-token'];
  if (typeof token !== 'string') throw new Error(`no sync token in ${res.statusCode} ${res.body}`);
  return token;
}

/** The page without `serverTime`, which differs between any two pulls. */
function pageOf(res: LightMyRequestResponse): unknown {
  expect(res.statusCode, res.body).toBe(200);
  const { serverTime: _serverTime, ...page } = responseJson(res) as Record<string, unknown>;
  return page;
}

function expectRefused(res: LightMyRequestResponse, code = 'sync_token_invalid') {
  expect(res.statusCode, res.body).toBe(401);
  expect(res.json()).toMatchObject({ error_code: code, message: expect.any(String) });
}

const hashOf = (token: string) => createHash('sha256').update(token).digest();

/** The response headers of `GET /sync/events` over real HTTP; the stream is closed at once. */
async function eventHeaders(baseUrl: string, bearer: string): Promise<http.IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      `${baseUrl}/sync/events`,
      { headers: { authorization: `Bearer ${bearer}` } },
      (res) => {
        resolve(res.headers);
        request.destroy();
      },
    );
    request.on('error', reject);
  });
}

describeOnEachDatabase('sync tokens (embedded auth)', (database) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  const rowsOf = (userId: UserId) =>
    database().db.select().from(syncTokens).where(eq(syncTokens.userId, userId));

  it('[AU5] a sync request with the access token is answered with a 26-character sync token that expires with it; only its hash is stored', async () => {
    const user = await signUp(server.app);
    const res = await pullWith(server.app, user.accessToken);
    expect(res.statusCode).toBe(200);
    const token = syncTokenOf(res);
    expect(token).toMatch(/^vws_[A-Za-z0-9_-]{22}$/);
    expect(token).toHaveLength(26);
    expect(user.accessToken.length).toBeGreaterThan(700);

    const { exp, session_id } = decodeJwt(user.accessToken);
    const expiresIn = Number(res.headers['x-sync-token-expires-in']);
    expect(Math.abs(expiresIn - ((exp ?? 0) - Date.now() / 1000))).toBeLessThan(5);
    expect(await rowsOf(user.userId)).toEqual([
      {
        tokenHash: expect.anything(),
        userId: user.userId,
        sessionId: session_id,
        expiresAt: new Date((exp ?? 0) * 1000),
        createdAt: expect.any(Date),
      },
    ]);
    const [row] = await rowsOf(user.userId);
    expect(Buffer.from(row?.tokenHash ?? [])).toEqual(hashOf(token));
    // A request with the sync token gets no new one.
    const again = await pullWith(server.app, token);
    expect(again.statusCode).toBe(200);
    expect(again.headers['x-sync-token']).toBeUndefined();
  });

  it('[AU5] one sync token per access token: repeated and concurrent requests get the same one, a refreshed access token a new one', async () => {
    const user = await signUp(server.app);
    const first = syncTokenOf(await pullWith(server.app, user.accessToken));
    const concurrent = await Promise.all([
      pullWith(server.app, user.accessToken),
      post(
        server.app,
        '/sync/push',
        user.accessToken,
        pushBody(newId(), 'user', [
          mutation(1, 'mood.upsert@1', { id: newId(), recordedAt: Date.now(), fields: { mood: 3 } }),
        ]),
      ),
    ]);
    expect(concurrent.map(syncTokenOf)).toEqual([first, first]);
    expect(await rowsOf(user.userId)).toHaveLength(1);

    const refreshed = await server.app.inject({
      method: 'POST',
      url: '/auth/v1/token?grant_type=refresh_token',
      payload: { refresh_token: user.refreshToken },
    });
    const fresh = refreshed.json<{ access_token: string }>().access_token;
    const second = syncTokenOf(await pullWith(server.app, fresh));
    expect(second).not.toBe(first);
    expect(await rowsOf(user.userId)).toHaveLength(2);
  });

  it('[AU6] the sync token alone pushes and pulls as the access token does: same user, same data, same pokes', async () => {
    const user = await signUp(server.app);
    const other = await signUp(server.app);
    const token = syncTokenOf(await pullWith(server.app, user.accessToken));
    syncTokenOf(await pullWith(server.app, other.accessToken));

    const stream = await openEventStream(server.url, token, 'poke', (data) => data);
    try {
      expect(stream.status).toBe(200);
      expect(await stream.next()).toEqual({ type: 'poke', version: 0 });
      const clientId = newId();
      const moodId = newId();
      const pushed = await post(
        server.app,
        '/sync/push',
        token,
        pushBody(clientId, 'user', [
          mutation(1, 'mood.upsert@1', {
            id: moodId,
            recordedAt: Date.now(),
            fields: { mood: 4, note: 'hi' },
          }),
        ]),
      );
      expect(pushed.statusCode, pushed.body).toBe(200);
      expect(responseJson(pushed)).toMatchObject({ results: [{ seq: 1, status: 'ok' }] });
      expect(await stream.next()).toEqual({ type: 'poke', version: 1 });
      const [device] = await database()
        .db.select()
        .from(syncClients)
        .where(eq(syncClients.clientId, clientId));
      expect(device?.userId).toBe(user.userId);
    } finally {
      stream.close();
    }

    for (const cursor of [0, 1]) {
      const withJwt = pageOf(await pullWith(server.app, user.accessToken, cursor));
      expect(pageOf(await pullWith(server.app, token, cursor))).toEqual(withJwt);
    }
    expect(JSON.stringify(pageOf(await pullWith(server.app, token)))).toContain('"hi"');
    // RLS sees the token's user only: the other account's pull has none of it.
    expect(JSON.stringify(pageOf(await pullWith(server.app, other.accessToken)))).not.toContain('"hi"');
  });

  it('[AU6] GET /sync/events with the access token hands out the same sync token', async () => {
    const user = await signUp(server.app);
    const headers = await eventHeaders(server.url, user.accessToken);
    expect(headers['content-type']).toMatch(/^text\/event-stream/);
    const token = headers['x-sync-token'];
    expect(token).toMatch(/^vws_/);
    expect(syncTokenOf(await pullWith(server.app, user.accessToken))).toBe(token);
  });

  it('[AU6] after sign-out the sync token is refused (401 sync_token_invalid) and nothing is written', async () => {
    const user = await signUp(server.app);
    const token = syncTokenOf(await pullWith(server.app, user.accessToken));
    const signOut = await server.app.inject({
      method: 'POST',
      url: '/auth/v1/logout?scope=local',
      headers: { authorization: `Bearer ${user.accessToken}` },
    });
    expect(signOut.statusCode).toBe(204);
    expectRefused(await pullWith(server.app, token));
    const clientId = newId();
    expectRefused(
      await post(
        server.app,
        '/sync/push',
        token,
        pushBody(clientId, 'user', [
          mutation(1, 'mood.upsert@1', { id: newId(), recordedAt: Date.now(), fields: { mood: 1 } }),
        ]),
      ),
    );
    expect(await database().db.select().from(syncClients).where(eq(syncClients.clientId, clientId))).toEqual(
      [],
    );
    const stream = await openEventStream(server.url, token, 'poke', (data) => data);
    stream.close();
    expect(stream.status).toBe(401);
    // And the access token, as before.
    expectRefused(await pullWith(server.app, user.accessToken), 'session_not_found');
  });

  it('[AU6] an expired sync token is refused, and expired rows are deleted when the next one is issued', async () => {
    const user = await signUp(server.app);
    const token = syncTokenOf(await pullWith(server.app, user.accessToken));
    await database()
      .db.update(syncTokens)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(syncTokens.userId, user.userId));
    expectRefused(await pullWith(server.app, token));

    const later = await server.app.inject({
      method: 'POST',
      url: '/auth/v1/token?grant_type=password',
      payload: { email: user.email, password: PASSWORD },
    });
    const next = syncTokenOf(await pullWith(server.app, later.json<{ access_token: string }>().access_token));
    const rows = await rowsOf(user.userId);
    expect(rows.map((r) => Buffer.from(r.tokenHash))).toEqual([hashOf(next)]);
  });

  it('[AU6] a malformed or unknown sync token is refused with 401 sync_token_invalid', async () => {
    for (const token of [
      'vws_short',
      'vws_AAAAAAAAAAAAAAAAAAAAA!',
      'vws_AAAAAAAAAAAAAAAAAAAAAAA',
      `vws_${Buffer.alloc(16, 7).toString('base64url')}`,
    ]) {
      const res = await pullWith(server.app, token);
      expectRefused(res);
      expect(res.headers['x-sync-token']).toBeUndefined();
    }
  });

  it('[AU6] only the sync routes take a sync token: the others keep requiring the access token', async () => {
    const user = await signUp(server.app);
    const token = syncTokenOf(await pullWith(server.app, user.accessToken));
    for (const [method, url] of [
      ['GET', '/api/v1/me'],
      ['GET', '/auth/v1/user'],
      ['POST', '/auth/v1/logout?scope=global'],
    ] as const) {
      const res = await server.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
      expect(res.json()).toMatchObject({ error_code: 'bad_jwt' });
    }
    expect((await pullWith(server.app, token)).statusCode).toBe(200);
  });
});

// With SUPABASE_URL set: "Supabase" is a second VitalWatch server running the embedded provider (as in
// supabase-identity.db.test.ts), whose sessions the verifying server cannot see.
describeOnEachDatabase('sync tokens (Supabase auth)', (database, kind) => {
  const servers = useSupabaseStandIn(database, kind, 'anon');

  it('[AU6] as for Supabase access tokens, a Supabase sign-out leaves a sync token working and only expiry ends it', async () => {
    const user = await signUp(servers.supabase.app);
    const res = await pullWith(servers.app, user.accessToken);
    const token = syncTokenOf(res);
    const [row] = await database().db.select().from(syncTokens).where(eq(syncTokens.userId, user.userId));
    expect(row).toMatchObject({
      sessionId: null,
      expiresAt: new Date((decodeJwt(user.accessToken).exp ?? 0) * 1000),
    });

    await servers.supabase.app.inject({
      method: 'POST',
      url: '/auth/v1/logout?scope=global',
      headers: { authorization: `Bearer ${user.accessToken}` },
    });
    expect(pageOf(await pullWith(servers.app, token))).toEqual(
      pageOf(await pullWith(servers.app, user.accessToken)),
    );

    await database()
      .db.update(syncTokens)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(syncTokens.userId, user.userId));
    expectRefused(await pullWith(servers.app, token));
  });
});
