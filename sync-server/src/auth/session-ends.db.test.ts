/**
 * When a session ends, everything of it stops: refresh-token reuse revokes it (GoTrue's rules, ADR 0015), and
 * sign-out or that revocation ends its open event streams, over real sockets, on one instance and (Postgres)
 * across two. The server's clock is the test's (`clock.ms`): the reuse interval is crossed by moving it.
 */
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { activityLogs, userSessions } from '@vitalwatch/schema/db/tables';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { Poke } from '@vitalwatch/schema/protocol/poke';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { startPostgresPokes } from '../sync/postgres-pokes.ts';
import {
  mutation,
  openEventStream,
  post,
  push,
  pushBody,
  startSyncServer,
  type EventStream,
  type SyncServer,
} from '../../test/sync-test-kit.ts';
import { REFRESH_REUSE_INTERVAL_MS } from './embedded-auth-routes.ts';
import { generateSigningKey } from './signing-key.ts';

const PASSWORD = 'a long enough passphrase';

type Session = { userId: UserId; sessionId: string; access: string; refresh: string };

const TokenResponse = z.looseObject({
  access_token: z.string(),
  refresh_token: z.string(),
  user: z.looseObject({ id: z.string() }),
});

function sessionOf(body: unknown): Session {
  const parsed = z.parse(TokenResponse, body);
  const claims = JSON.parse(Buffer.from(parsed.access_token.split('.')[1] ?? '', 'base64url').toString()) as {
    session_id: string;
  };
  return {
    userId: parsed.user.id as UserId,
    sessionId: claims.session_id,
    access: parsed.access_token,
    refresh: parsed.refresh_token,
  };
}

async function signUpAndIn(app: FastifyInstance): Promise<{ email: string; session: Session }> {
  const email = `se-${newId()}@example.org`;
  await app.inject({ method: 'POST', url: '/auth/v1/signup', payload: { email, password: PASSWORD } });
  return { email, session: await signIn(app, email) };
}

async function signIn(app: FastifyInstance, email: string): Promise<Session> {
  const response = await app.inject({
    method: 'POST',
    url: '/auth/v1/token?grant_type=password',
    payload: { email, password: PASSWORD },
  });
  if (response.statusCode !== 200) throw new Error(`sign-in: ${response.body}`);
  return sessionOf(response.json());
}

function refresh(app: FastifyInstance, token: string) {
  return app.inject({
    method: 'POST',
    url: '/auth/v1/token?grant_type=refresh_token',
    payload: { refresh_token: token },
  });
}

async function userStatus(app: FastifyInstance, access: string) {
  const response = await app.inject({
    method: 'GET',
    url: '/auth/v1/user',
    headers: { authorization: `Bearer ${access}` },
  });
  return response.statusCode;
}

/** A sync token for this access token (AU5), from a pull. */
async function syncTokenFor(app: FastifyInstance, access: string): Promise<string> {
  const response = await post(app, '/sync/pull', access, {
    protocolVersion: 4,
    clientId: newId(),
    cursor: 0,
  });
  const token = response.headers['x-sync-token'];
  if (typeof token !== 'string') throw new Error(`no sync token: ${response.statusCode} ${response.body}`);
  return token;
}

const openPokes = (baseUrl: string, token: string) =>
  openEventStream(baseUrl, token, 'poke', (data) => z.parse(Poke, data));

/** Resolves when the stream ends; rejects after `ms` (far below the 25 s heartbeat that would also end it). */
function endOf(stream: EventStream<unknown>, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stream was still open after ${ms} ms`)), ms);
    stream.onEnd(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describeOnEachDatabase('sessions end when they should', (database, kind) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  async function revokedReason(sessionId: string) {
    const [row] = await database()
      .db.select({ reason: userSessions.revokedReason })
      .from(userSessions)
      .where(eq(userSessions.id, sessionId));
    return row?.reason ?? null;
  }

  it('[SE40] a used refresh token presented after the reuse interval revokes its session: refresh, access and sync tokens all stop', async () => {
    const { session } = await signUpAndIn(server.app);
    const syncToken = await syncTokenFor(server.app, session.access);
    // The device refreshes; the thief, who copied the old refresh token, uses it later.
    const device = sessionOf((await refresh(server.app, session.refresh)).json());
    server.clock.ms += REFRESH_REUSE_INTERVAL_MS + 1_000;
    const stolen = await refresh(server.app, session.refresh);
    expect(stolen.statusCode).toBe(401);
    expect(stolen.json()).toMatchObject({ error_code: 'refresh_token_already_used' });

    expect(await revokedReason(session.sessionId)).toBe('refresh_token_reused');
    const stillValid = await refresh(server.app, device.refresh);
    expect(stillValid.statusCode).toBe(401);
    expect(await userStatus(server.app, device.access)).toBe(401);
    expect(await userStatus(server.app, session.access)).toBe(401);
    const pull = await post(server.app, '/sync/pull', syncToken, {
      protocolVersion: 4,
      clientId: newId(),
      cursor: 0,
    });
    expect(pull.statusCode).toBe(401);
    expect(pull.json()).toMatchObject({ error_code: 'sync_token_invalid' });
    const audit = await database()
      .db.select({ actorKind: activityLogs.actorKind })
      .from(activityLogs)
      .where(
        and(
          eq(activityLogs.action, 'auth.refresh_token_reused'),
          eq(activityLogs.targetId, session.sessionId),
        ),
      );
    expect(audit).toEqual([{ actorKind: 'system' }]);
  });

  it('[SE40] the thief refreshing first and often: any older token of the session revokes it, not only the previous one', async () => {
    const { email, session } = await signUpAndIn(server.app);
    const other = await signIn(server.app, email);
    let thief = session;
    for (let i = 0; i < 3; i++) {
      server.clock.ms += REFRESH_REUSE_INTERVAL_MS + 1_000;
      thief = sessionOf((await refresh(server.app, thief.refresh)).json());
    }
    // The owner's app comes back with the token it had: three generations old.
    const owner = await refresh(server.app, session.refresh);
    expect(owner.statusCode).toBe(401);
    expect(owner.json()).toMatchObject({ error_code: 'refresh_token_already_used' });
    expect((await refresh(server.app, thief.refresh)).statusCode).toBe(401);
    expect(await userStatus(server.app, thief.access)).toBe(401);
    // Only that session: the user's other sign-in goes on.
    expect(await userStatus(server.app, other.access)).toBe(200);
    expect((await refresh(server.app, other.refresh)).statusCode).toBe(200);
  });

  it('[SE41] within the reuse interval the previous token gets the same new token again, and nothing is revoked', async () => {
    const { session } = await signUpAndIn(server.app);
    // Two tabs at once (or a retry after a lost answer): both get the same next token.
    const [first, second] = await Promise.all([
      refresh(server.app, session.refresh),
      refresh(server.app, session.refresh),
    ]);
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    const next = sessionOf(first.json()).refresh;
    expect(sessionOf(second.json()).refresh).toBe(next);
    expect(next).not.toBe(session.refresh);
    server.clock.ms += REFRESH_REUSE_INTERVAL_MS - 1_000;
    const retry = await refresh(server.app, session.refresh);
    expect(retry.statusCode).toBe(200);
    expect(sessionOf(retry.json()).refresh).toBe(next);
    expect(await revokedReason(session.sessionId)).toBeNull();
    const later = await refresh(server.app, next);
    expect(later.statusCode).toBe(200);
    expect(await userStatus(server.app, sessionOf(later.json()).access)).toBe(200);
  });

  it('[SE43] a refresh token the server did not issue, even one naming a live session, is unknown and ends nothing', async () => {
    const { session } = await signUpAndIn(server.app);
    const bytes = Buffer.from(session.refresh, 'base64url');
    expect(bytes).toHaveLength(56);
    for (const at of [20, 50]) {
      // A changed body (a guess at an older token) or a changed tag: the session id is still the real one.
      const forged = Buffer.from(bytes);
      forged[at] = (forged[at] ?? 0) ^ 1;
      const response = await refresh(server.app, forged.toString('base64url'));
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error_code: 'refresh_token_not_found' });
    }
    expect(await revokedReason(session.sessionId)).toBeNull();
    expect((await refresh(server.app, session.refresh)).statusCode).toBe(200);
  });

  it('[SE42] sign-out ends the open event streams of the sessions it ends, over a real socket, and no others', async () => {
    const { email, session } = await signUpAndIn(server.app);
    const other = await signIn(server.app, email);
    const streams = [
      await openPokes(server.url, session.access),
      await openPokes(server.url, await syncTokenFor(server.app, session.access)),
    ];
    const kept = await openPokes(server.url, other.access);
    try {
      for (const stream of [...streams, kept])
        expect(await stream.next()).toEqual({ type: 'poke', version: 0 });
      const ended = streams.map((stream) => endOf(stream));
      const out = await server.app.inject({
        method: 'POST',
        url: '/auth/v1/logout?scope=local',
        headers: { authorization: `Bearer ${session.access}` },
      });
      expect(out.statusCode).toBe(204);
      await Promise.all(ended);
      // The other session's stream still hears the user's next change.
      await push(
        server.app,
        { userId: other.userId, token: other.access },
        pushBody(newId(), 'user', [
          mutation(1, 'mood.upsert@1', { id: newId(), recordedAt: Date.now(), fields: { mood: 3 } }),
        ]),
      );
      expect(await kept.next()).toEqual({ type: 'poke', version: 1 });
    } finally {
      for (const stream of [...streams, kept]) stream.close();
    }
  });

  it('[SE42] a revocation for refresh-token reuse ends the session’s open event streams', async () => {
    const { session } = await signUpAndIn(server.app);
    const stream = await openPokes(server.url, session.access);
    try {
      expect(await stream.next()).toEqual({ type: 'poke', version: 0 });
      const ended = endOf(stream);
      expect((await refresh(server.app, session.refresh)).statusCode).toBe(200);
      server.clock.ms += REFRESH_REUSE_INTERVAL_MS + 1_000;
      expect((await refresh(server.app, session.refresh)).statusCode).toBe(401);
      await ended;
    } finally {
      stream.close();
    }
  });

  it.runIf(kind === 'postgres')(
    '[SE42] with several instances on Postgres, a sign-out on one ends the stream open on another',
    async () => {
      const url = database().url!;
      const key = await generateSigningKey();
      const issuer = 'http://vitalwatch.test/auth/v1';
      const instances = [];
      const notices = [await startPostgresPokes(url), await startPostgresPokes(url)];
      try {
        for (const pokes of notices) {
          instances.push(
            await startSyncServer(database(), { key, issuer, pokes, sessionEnds: pokes.sessionEnds }),
          );
        }
        const [a, b] = instances as [SyncServer, SyncServer];
        const { session } = await signUpAndIn(a.app);
        const stream = await openPokes(b.url, session.access);
        expect(await stream.next()).toEqual({ type: 'poke', version: 0 });
        const ended = endOf(stream);
        const out = await a.app.inject({
          method: 'POST',
          url: '/auth/v1/logout',
          headers: { authorization: `Bearer ${session.access}` },
        });
        expect(out.statusCode).toBe(204);
        await ended;
      } finally {
        for (const instance of instances) await instance.app.close();
        for (const pokes of notices) await pokes.close();
      }
    },
  );
});
