/**
 * A database connection lost at any step of a request (issue #21): the token and session checks, sign-up, the
 * event stream's first read, BEGIN, a statement, and (on Postgres, for real) the ROLLBACK after a backend was
 * terminated. Every route answers `503 temporarily_unavailable` + `Retry-After`, writes nothing, and gives back
 * every pool client it took. On both databases the loss is a statement failed by the drizzle logger
 * (`statement-faults.ts`, SQLSTATE 57P01); on Postgres a trigger also terminates its own backend mid-push, which
 * is what `pg_terminate_backend` (a Neon compute restart) does to a request in flight.
 */
import { eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import { moodEntries, syncClients, users } from '@vitalwatch/schema/db/tables';
import { createStatementFaults } from '../../test/statement-faults.ts';
import { createTestDatabase, describeOnEachDatabase, testDatabaseKinds } from '../../test/test-databases.ts';
import {
  mutation,
  post,
  pushBody,
  signUp,
  startSyncServer,
  type SyncServer,
  type TestUser,
} from '../../test/sync-test-kit.ts';
import {
  fakeJpeg,
  sha256Hex,
  signUp as signUpForStorage,
  startStorageServer,
} from '../../test/storage-test-kit.ts';
import { UPLOAD_PATH } from '../storage/upload-routes.ts';
import { POOL_MAX, type Database } from './database.ts';
import { isTransientDatabaseError } from './transient-database-error.ts';

const faults = createStatementFaults();

function mood(id: string, note: string) {
  return { id, recordedAt: Date.now(), fields: { mood: 3, note } };
}

function expectUnavailable(response: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  expect(response.statusCode, response.body).toBe(503);
  expect(response.headers['retry-after']).toMatch(/^\d+$/);
  expect(JSON.parse(response.body)).toMatchObject({ error_code: 'temporarily_unavailable' });
}

/** With nothing in flight every pool client is back and idle, and nobody waits (no pool on PGlite). */
function expectAllClientsBack(database: Database) {
  const counts = database.connections();
  if (counts === null) return;
  expect(counts.waiting).toBe(0);
  expect(counts.idle).toBe(counts.total);
  expect(counts.total).toBeLessThanOrEqual(POOL_MAX);
}

describeOnEachDatabase(
  'a database connection lost during a request',
  (database, kind) => {
    let server: SyncServer;
    let alice: TestUser;
    let syncToken: string;
    beforeAll(async () => {
      server = await startSyncServer(database());
      alice = await signUp(server.app);
      const first = await post(server.app, '/sync/pull', alice.token, {
        protocolVersion: 4,
        clientId: newId(),
        cursor: 0,
      });
      syncToken = String(first.headers['x-sync-token']);
      expect(syncToken).toMatch(/^vws_/);
    });
    afterEach(() => {
      faults.disarm();
    });

    it('[DF1][PU5] a sync token lookup that loses its connection gets 503 + Retry-After, not 500', async () => {
      faults.failMatching(/from "sync_tokens"/);
      const clientId = newId();
      const response = await post(
        server.app,
        '/sync/push',
        syncToken,
        pushBody(clientId, 'user', [mutation(1, 'mood.upsert@1', mood(newId(), 'during the drop'))]),
      );
      expect(faults.disarm()).toBe(true);
      expectUnavailable(response);
      expect(
        await database().db.select().from(syncClients).where(eq(syncClients.clientId, clientId)),
      ).toEqual([]);
      expectAllClientsBack(database());
    });

    it('[DF1] a session check (access token) that loses its connection gets 503 on push, pull and profile', async () => {
      for (const [method, url, body] of [
        ['POST', '/sync/push', pushBody(newId(), 'user', [])],
        ['POST', '/sync/pull', { protocolVersion: 4, clientId: newId(), cursor: 0 }],
        ['GET', '/api/v1/me', undefined],
      ] as const) {
        faults.failMatching(/from "user_sessions"/);
        const response = await server.app.inject({
          method,
          url,
          headers: { authorization: `Bearer ${alice.token}` },
          ...(body !== undefined && { payload: body }),
        });
        expect(faults.disarm(), url).toBe(true);
        expectUnavailable(response);
      }
      expectAllClientsBack(database());
    });

    it('[DF1] sign-up that loses its connection gets 503 and creates no account', async () => {
      const email = `drop-${newId()}@example.org`;
      faults.failMatching(/insert into "users"/);
      const response = await server.app.inject({
        method: 'POST',
        url: '/auth/v1/signup',
        payload: { email, password: 'a long enough passphrase' },
      });
      expect(faults.disarm()).toBe(true);
      expectUnavailable(response);
      expect(await database().db.select().from(users).where(eq(users.email, email))).toEqual([]);
      expectAllClientsBack(database());
    });

    it('[DF1] /sync/events whose first read loses its connection gets 503 before the stream opens', async () => {
      faults.failMatching(/from "user_versions"/);
      const response = await server.app.inject({
        method: 'GET',
        url: '/sync/events',
        headers: { authorization: `Bearer ${syncToken}` },
      });
      expect(faults.disarm()).toBe(true);
      expectUnavailable(response);
      expectAllClientsBack(database());
    });

    it('[DF1] /healthz says 503 while the database does not answer, and ok again after', async () => {
      faults.failMatching(/^select 1$/);
      const down = await server.app.inject({ method: 'GET', url: '/healthz' });
      expect(faults.disarm()).toBe(true);
      expect(down.statusCode).toBe(503);
      const up = await server.app.inject({ method: 'GET', url: '/healthz' });
      expect(up.json()).toMatchObject({ status: 'ok' });
    });

    it('[DF1] an evidence upload whose database check loses its connection gets 503 + Retry-After from tus', async () => {
      const storage = await startStorageServer(database());
      try {
        const account = await signUpForStorage(storage);
        const file = fakeJpeg(2048);
        const metadata = {
          bucketName: 'emergency',
          objectName: `user-${account.userId}/drop.jpg`,
          contentType: 'image/jpeg',
          sha256: sha256Hex(file),
        };
        faults.failMatching(/from "media_files"/);
        const response = await fetch(`${storage.url}${UPLOAD_PATH}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${account.token}`,
            'tus-resumable': '1.0.0',
            'upload-length': String(file.length),
            'upload-metadata': Object.entries(metadata)
              .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
              .join(','),
          },
        });
        expect(faults.disarm()).toBe(true);
        expectUnavailable({
          statusCode: response.status,
          headers: Object.fromEntries(response.headers),
          body: await response.text(),
        });
        expectAllClientsBack(database());
      } finally {
        await storage.close();
      }
    });

    // PGlite has no pool, and its transactions do not send BEGIN through drizzle's logger.
    it.skipIf(kind === 'pglite')(
      `[DF2] BEGIN failing on ${POOL_MAX + 2} requests in a row gives back every client: the next push applies`,
      async () => {
        // drizzle-orm 0.45 runs BEGIN outside the try that releases its pool client: each of these would keep one
        // client for good, and the pool (10) would then make every later request wait forever.
        for (let i = 0; i < POOL_MAX + 2; i += 1) {
          faults.failMatching(/^begin/);
          const response = await post(
            server.app,
            '/sync/push',
            syncToken,
            pushBody(newId(), 'user', [mutation(1, 'mood.upsert@1', mood(newId(), `begin ${i}`))]),
          );
          expect(faults.disarm()).toBe(true);
          expectUnavailable(response);
        }
        expectAllClientsBack(database());
        const id = newId();
        const response = await post(
          server.app,
          '/sync/push',
          syncToken,
          pushBody(newId(), 'user', [mutation(1, 'mood.upsert@1', mood(id, 'after the drops'))]),
        );
        expect(response.statusCode, response.body).toBe(200);
        expect(await database().db.select().from(moodEntries).where(eq(moodEntries.id, id))).toHaveLength(1);
        expectAllClientsBack(database());
      },
    );
  },
  { logger: faults },
);

describe.runIf(testDatabaseKinds().includes('postgres'))(
  'a Postgres backend terminated in the middle of a request [postgres]',
  () => {
    let database: Database & { url: string | null };
    let server: SyncServer;
    let alice: TestUser;
    beforeAll(async () => {
      database = await createTestDatabase('postgres');
      server = await startSyncServer(database);
      alice = await signUp(server.app);
      // SECURITY DEFINER: the push runs as `authenticated`, which may not signal the connection's own role.
      await database.db.execute(sql`
        create function vw_test_terminate_self() returns trigger language plpgsql security definer as $$
        begin
          if new.note = 'terminate me' then
            perform pg_terminate_backend(pg_backend_pid());
            perform pg_sleep(5);
          end if;
          return new;
        end $$`);
      await database.db.execute(sql`
        create trigger vw_test_terminate_self before insert on mood_entries
        for each row execute function vw_test_terminate_self()`);
      return async () => {
        await server.app.close();
        await database.close();
      };
    });

    it('[DF1] the driver error after a real drop (a ROLLBACK on the dead connection) counts as transient', async () => {
      const url = database.url ?? '';
      const client = new pg.Client({ connectionString: url });
      const lost = new Promise((resolve) => client.on('error', resolve));
      await client.connect();
      const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
      await database.db.execute(sql`select pg_terminate_backend(${pid})`);
      await lost;
      const rollback = await client.query('rollback').then(
        () => null,
        (error: unknown) => error,
      );
      expect(String(rollback)).toMatch(/not queryable/);
      expect(isTransientDatabaseError(rollback)).toBe(true);
      await client.end();
    });

    it('[DF1][DF2][PU5] a push whose backend is terminated mid-transaction gets 503, writes nothing, and the pool recovers', async () => {
      const clientId = newId();
      const batch = pushBody(clientId, 'user', [
        mutation(1, 'mood.upsert@1', mood(newId(), 'written before the drop')),
        mutation(2, 'mood.upsert@1', mood(newId(), 'terminate me')),
      ]);
      for (let attempt = 0; attempt < 3; attempt += 1) {
        expectUnavailable(await post(server.app, '/sync/push', alice.token, batch));
      }
      expect(
        await database.db.select().from(moodEntries).where(eq(moodEntries.userId, alice.userId)),
      ).toEqual([]);
      expect(await database.db.select().from(syncClients).where(eq(syncClients.clientId, clientId))).toEqual(
        [],
      );
      expectAllClientsBack(database);
      await database.db.execute(sql`drop trigger vw_test_terminate_self on mood_entries`);
      const retry = await post(server.app, '/sync/push', alice.token, batch);
      expect(retry.statusCode, retry.body).toBe(200);
      expect(
        await database.db.select().from(moodEntries).where(eq(moodEntries.userId, alice.userId)),
      ).toHaveLength(2);
    });
  },
);
