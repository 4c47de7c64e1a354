/**
 * The real sync server as the seeded fault scenario's server (web/test-support/sync-fuzz-scenario.ts): `buildApp` with
 * its embedded auth, listening on a loopback port, on a test database (PGlite or Postgres). The scenario's pushes
 * and pulls reach it over real HTTP through the app's own transport (`createHttpTransport`: gzip bodies, sync
 * tokens), one transport per access token as each device has its own. What the fake server does by decree, this
 * one does for real:
 * - `crashAfter(n)`: the database fails the next push's statements from its (n + 1)-th write on, as a connection
 *   dropped by a server restart does (SQLSTATE 57P01); the batch's transaction rolls back and its answer reaches
 *   nobody (the client sees a network error);
 * - `expireTokens()`: the user signs out everywhere (`logout?scope=global`), so the server refuses every access
 *   token and sync token issued so far (401, as for expired ones) and each device signs in again;
 * - `compact()`: `purgeTombstones` with a horizon of 0 days (PL9): older cursors get a reset;
 * - `liveRows()`: a fresh device's pull from cursor 0; `storedSamples()`: the user's `sensor_readings`;
 * - `ledger()`: the `ok` and `rejected` acknowledgements the server sent, answers lost on the way included,
 *   checked against the `mutation_errors` rows it keeps for the rejected ones; `rejections()`: those rows;
 * - `dispatch()`: one round of the server's own alert delivery (`tick()`, no SMS provider: the ledger records
 *   `not_configured`), so devices pull ledger rows and must drop a cancelled incident's (AL29).
 */
import { newId } from '../schema/src/ids.ts';
import { mutationErrors, sensorReadings } from '../schema/src/db/tables.ts';
import type { PullRequest } from '../schema/src/protocol/pull-request.ts';
import { PushRequest } from '../schema/src/protocol/push-request.ts';
import { PushResponse } from '../schema/src/protocol/push-response.ts';
import { purgeTombstones } from '../sync-server/src/sync/purge-tombstones.ts';
import type { StatementFaults } from '../sync-server/test/statement-faults.ts';
import { startEmbeddedApp } from '../sync-server/test/test-app.ts';
import type { TestDatabase } from '../sync-server/test/test-databases.ts';
import { createHttpTransport } from '../web/src/sync/http-transport.ts';
import type { FuzzServer } from '../web/test-support/sync-fuzz-scenario.ts';
import type { TestClock } from '../web/test-support/test-device.ts';
import type { SyncTransport } from '../web/src/sync/transport.ts';
import { postJson, serverSnapshot, sessionFrom } from './real-server-kit.ts';

const PASSWORD = 'a long enough passphrase';

/** A new user on a new server instance on `database`, whose clock is the scenario's. */
export async function startRealFuzzServer(
  database: TestDatabase,
  faults: StatementFaults,
  clock: TestClock,
): Promise<FuzzServer> {
  const server = await startEmbeddedApp(database, {
    now: () => new Date(clock.t),
    alerts: () => ({
      sms: null,
      twilioWebhooks: null,
      webPush: null,
      vapidPublicKey: null,
      supabaseRealtime: null,
      autoStart: false,
      fullScanMs: 0,
    }),
  });
  const email = `fuzz-${newId<string>()}@example.org`;
  // Sign-up answers the user without a session (SE45); the session comes from signing in.
  await postJson(`${server.url}/auth/v1/signup`, { email, password: PASSWORD });
  const { userId } = await sessionFrom(
    await postJson(`${server.url}/auth/v1/token?grant_type=password`, { email, password: PASSWORD }),
  );
  const transports = new Map<string, SyncTransport>();
  const acknowledged: string[] = [];
  const rejected = new Set<string>();
  let crashAt: number | null = null;

  const transportFor = (token: string) => {
    let transport = transports.get(token);
    if (transport === undefined) {
      transport = createHttpTransport({ baseUrl: server.url, now: clock.now });
      transports.set(token, transport);
    }
    return transport;
  };

  async function signIn(): Promise<string> {
    const res = await postJson(`${server.url}/auth/v1/token?grant_type=password`, {
      email,
      password: PASSWORD,
    });
    return (await sessionFrom(res)).accessToken;
  }

  return {
    userId,
    async push(body, token) {
      const request = PushRequest.parse(body);
      const crash = crashAt;
      crashAt = null;
      if (crash !== null) faults.failFromWrite(crash + 1);
      const res = await transportFor(token)
        .push(request, token)
        .finally(() => crash !== null && faults.disarm());
      if (crash !== null && res.status >= 500) throw new Error('network error (server restarted mid-batch)');
      if (res.status === 200) {
        for (const result of PushResponse.parse(res.body).results) {
          if (result.status === 'dup') continue;
          const key = `${request.clientId}/${request.lane}/${result.seq}`;
          acknowledged.push(key);
          if (result.status === 'rejected') rejected.add(key);
        }
      }
      return res;
    },
    pull: (body, token) => transportFor(token).pull(body as PullRequest, token),
    crashAfter(n) {
      crashAt = n;
    },
    issueToken: signIn,
    async expireTokens() {
      const res = await fetch(`${server.url}/auth/v1/logout?scope=global`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await signIn()}` },
      });
      if (res.status !== 204) throw new Error(`logout: HTTP ${res.status} ${await res.text()}`);
    },
    async compact() {
      await purgeTombstones(database.db, new Date(clock.t + 1), 0);
    },
    async liveRows() {
      return serverSnapshot(server.url, await signIn());
    },
    async ledger() {
      const recorded = (await database.db.select().from(mutationErrors))
        .filter((e) => e.userId === userId)
        .map((e) => `${e.clientId}/${e.lane}/${e.seq}`)
        .sort();
      const answered = [...rejected].sort();
      if (JSON.stringify(recorded) !== JSON.stringify(answered)) {
        throw new Error(
          `mutation_errors (${recorded.join(', ')}) differ from the rejections answered (${answered.join(', ')})`,
        );
      }
      return acknowledged;
    },
    async rejections() {
      return (await database.db.select().from(mutationErrors))
        .filter((e) => e.userId === userId)
        .map((e) => `${e.clientId}/${e.lane}/${e.seq}`);
    },
    async dispatch() {
      await server.app.alerts?.tick();
    },
    async storedSamples() {
      const rows = await database.db
        .select({ id: sensorReadings.id, userId: sensorReadings.userId })
        .from(sensorReadings);
      return new Set(rows.filter((r) => r.userId === userId).map((r) => r.id));
    },
    async close() {
      await server.app.close();
    },
  };
}
