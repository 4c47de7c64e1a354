/**
 * Sync while Postgres drops the server's connections (issue #21, SPEC DF1–DF3): what a Neon compute restart or
 * scale-to-zero does, `pg_terminate_backend` on every backend of the server's database, again and again, while
 * devices (the app's own sync client, Dexie on fake-indexeddb, over real HTTP with the app's transport) write and
 * sync, event streams open and close, and a monitor polls /healthz. The LISTEN connection of Postgres pokes is
 * terminated too. Then the database is left alone and every device syncs until its outbox is empty.
 *
 * Asserted: no answer is a 5xx other than `503 temporarily_unavailable` with Retry-After; every request is
 * answered within 10 s; the faults did hit (503s seen, backends terminated); afterwards the pool has every
 * client back (idle = total, nobody waiting); every outbox drains and each mutation is applied exactly once
 * (`last_seq` of every device lane = its last seq, no seq answered `ok` twice, no rejection, every row and sample
 * stored once); the devices converge to the server; and a poke crosses the re-opened LISTEN connection.
 *
 * The writes come from a fixed seed; when the kills land is real time, so each run hits different steps of the
 * requests. The kill phase lasts DB_FAULTS_SECONDS (default 15 s), the run about 30–60 s on a loaded machine.
 */
// First: installs fake-indexeddb before anything loads Dexie.
import './fake-indexeddb.ts';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { newId } from '../schema/src/ids.ts';
import { sensorReadings, syncClients } from '../schema/src/db/tables.ts';
import { PushRequest } from '../schema/src/protocol/push-request.ts';
import { PushResponse } from '../schema/src/protocol/push-response.ts';
import type { PullRequest } from '../schema/src/protocol/pull-request.ts';
import { seededRandom } from '../schema/src/seeded-random.ts';
import { sampleIds } from '../schema/src/protocol/sample-ids.ts';
import { POOL_MAX } from '../sync-server/src/db/database.ts';
import { startPostgresPokes } from '../sync-server/src/sync/postgres-pokes.ts';
import { openEventStream } from '../sync-server/test/sync-test-kit.ts';
import { startEmbeddedApp } from '../sync-server/test/test-app.ts';
import { createTestDatabase, testDatabaseKinds } from '../sync-server/test/test-databases.ts';
import { createHttpTransport } from '../web/src/sync/http-transport.ts';
import { readMeta } from '../web/src/sync/local-db.ts';
import {
  createTestDevice,
  seededIds,
  type TestDevice,
  type TestServer,
} from '../web/test-support/test-device.ts';
import type { SyncTransport, TransportResponse } from '../web/src/sync/transport.ts';
import { postJson, serverSnapshot, sessionFrom } from './real-server-kit.ts';

const SEED = 2_100;
const KILL_PHASE_MS = Number(process.env.DB_FAULTS_SECONDS ?? 15) * 1000;
/** No request may wait longer for its answer (issue #21). */
const ANSWER_WITHIN_MS = 10_000;
const PASSWORD = 'a long enough passphrase';
const DEVICES = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every answer the run got: what, its status, how long it took (null: none within ANSWER_WITHIN_MS). */
type Answer = { what: string; status: number; ms: number | null; retryAfter: string | null };

describe.runIf(testDatabaseKinds().includes('postgres'))(
  'sync while Postgres terminates the server’s connections [postgres]',
  () => {
    it(
      '[DF1][DF2][DF3] no 500, nothing unanswered, the pool recovers, every outbox drains exactly once',
      { timeout: 240_000 },
      async () => {
        const random = seededRandom(SEED);
        const database = await createTestDatabase('postgres');
        const dbName = new URL(database.url ?? '').pathname.slice(1);
        const pokes = await startPostgresPokes(database.url ?? '');
        const server = await startEmbeddedApp(database, { pokes });
        const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? '' });
        await admin.connect();
        const answers: Answer[] = [];
        const devices: TestDevice[] = [];
        let killing = true;
        /** What failed in the concurrent loops, reported at the end (a loop's own error must not go unheard). */
        const failures: unknown[] = [];
        const loop = (body: () => Promise<void>) =>
          body().catch((error: unknown) => {
            failures.push(error);
          });

        /** Times an exchange; one without an answer in ANSWER_WITHIN_MS is recorded as such (and still awaited). */
        async function timed<T>(
          what: string,
          exchange: () => Promise<T>,
          statusOf: (t: T) => Answer['status'],
          retryAfterOf: (t: T) => string | null = () => null,
        ): Promise<T> {
          const started = Date.now();
          let late = false;
          const watch = setTimeout(() => {
            late = true;
            answers.push({ what, status: 0, ms: null, retryAfter: null });
          }, ANSWER_WITHIN_MS);
          try {
            const result = await exchange();
            if (!late)
              answers.push({
                what,
                status: statusOf(result),
                ms: Date.now() - started,
                retryAfter: retryAfterOf(result),
              });
            return result;
          } finally {
            clearTimeout(watch);
          }
        }

        try {
          const email = `faults-${newId<string>()}@example.org`;
          // Sign-up answers the user without a session (SE45); the session comes from signing in.
          await postJson(`${server.url}/auth/v1/signup`, { email, password: PASSWORD });
          const { userId } = await sessionFrom(
            await postJson(`${server.url}/auth/v1/token?grant_type=password`, { email, password: PASSWORD }),
          );

          /** Sign-in, tried again after a 503 (the device's auth client does the same). */
          async function signIn(): Promise<string> {
            for (let attempt = 0; ; attempt += 1) {
              const res = await timed(
                'sign-in',
                () =>
                  postJson(`${server.url}/auth/v1/token?grant_type=password`, { email, password: PASSWORD }),
                (r) => r.status,
                (r) => r.headers.get('retry-after'),
              );
              if (res.status !== 503 || attempt === 50) return (await sessionFrom(res)).accessToken;
              await sleep(200);
            }
          }

          const transports = new Map<string, SyncTransport>();
          const transportFor = (token: string) => {
            let transport = transports.get(token);
            if (transport === undefined) {
              transport = createHttpTransport({ baseUrl: server.url, timeoutMs: 30_000 });
              transports.set(token, transport);
            }
            return transport;
          };
          /** Push answers, `clientId/lane/seq`, for the exactly-once check. */
          const answeredOk: string[] = [];
          const rejected: string[] = [];
          const statusOf = (r: TransportResponse) => r.status;
          const retryAfterOf = (r: TransportResponse) => r.retryAfter ?? null;
          const endpoint: TestServer = {
            async push(body, token) {
              const request = PushRequest.parse(body);
              const res = await timed(
                'push',
                () => transportFor(token).push(request, token),
                statusOf,
                retryAfterOf,
              );
              if (res.status === 200) {
                for (const result of PushResponse.parse(res.body).results) {
                  const key = `${request.clientId}/${request.lane}/${result.seq}`;
                  if (result.status === 'ok') answeredOk.push(key);
                  if (result.status === 'rejected') rejected.push(`${key} ${result.code}: ${result.message}`);
                }
              }
              return res;
            },
            pull: (body, token) =>
              timed(
                'pull',
                () => transportFor(token).pull(body as PullRequest, token),
                statusOf,
                retryAfterOf,
              ),
            crashAfter() {},
            issueToken: signIn,
          };

          const newIdFor = seededIds(random, Date.now);
          for (let i = 0; i < DEVICES; i += 1) {
            devices.push(
              await createTestDevice(endpoint, {
                now: Date.now,
                userId,
                client: { batchSize: 1 + Math.floor(random() * 4), pullLimit: 2 + Math.floor(random() * 5) },
              }),
            );
          }
          /** Per `clientId/lane`, the last seq a device wrote; and every row and sample id written. */
          const lastSeq = new Map<string, number>();
          const createdIds = new Set<string>();
          const createdSamples = new Set<string>();

          async function write(device: TestDevice): Promise<void> {
            const at = Date.now();
            const choice = random();
            const id = newIdFor();
            let queued;
            if (choice < 0.1) {
              queued = await device.mutators.triggerIncident({
                id,
                code: 'DBFALT',
                trigger: 'panic_button',
                triggeredAt: at,
              });
            } else if (choice < 0.55) {
              queued = await device.mutators.upsertMood({
                id,
                recordedAt: at,
                fields: { mood: 1 + Math.floor(random() * 5), note: 'under faults' },
              });
            } else if (choice < 0.8) {
              queued = await device.mutators.logCopingTool({
                id,
                tool: 'box_breathing',
                startedAt: at,
                completed: true,
              });
            } else {
              const dt = [0, 5, 9].slice(0, 1 + Math.floor(random() * 3));
              const batch = { kind: 1, t0: at, id, dt, v: dt.map(() => random() * 100) };
              for (const sampleId of sampleIds(batch.id, batch.t0, batch.dt)) createdSamples.add(sampleId);
              queued = await device.mutators.mutate('samples.append@2', batch);
            }
            if (choice < 0.8) createdIds.add(id);
            const { clientId } = await readMeta(device.db, ['clientId']);
            lastSeq.set(`${clientId}/${queued.lane}`, queued.seq);
          }

          // Kills every backend of the server's database (its pool and its LISTEN connection), every 150–450 ms.
          let terminated = 0;
          const killer = loop(async () => {
            while (killing) {
              const { rowCount } = await admin.query(
                'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
                [dbName],
              );
              terminated += rowCount ?? 0;
              await sleep(150 + Math.floor(random() * 300));
            }
          });

          const health = loop(async () => {
            while (killing) {
              await timed(
                'healthz',
                () => fetch(`${server.url}/healthz`),
                (r) => r.status,
                (r) => r.headers.get('retry-after') ?? '(healthz)',
              );
              await sleep(200);
            }
          });

          // Streams open, read their first poke, and close again; a 503 is tried again.
          const streams = devices.map(() =>
            loop(async () => {
              const token = await signIn();
              while (killing) {
                await timed(
                  'events',
                  async () => {
                    const res = await fetch(`${server.url}/sync/events`, {
                      headers: { authorization: `Bearer ${token}` },
                    });
                    if (res.status === 200) {
                      const reader = res.body?.getReader();
                      await reader?.read();
                      await reader?.cancel();
                    } else await res.text();
                    return res;
                  },
                  (r) => r.status,
                  (r) => r.headers.get('retry-after'),
                );
                await sleep(100 + Math.floor(random() * 300));
              }
            }),
          );

          const work = devices.map((device) =>
            loop(async () => {
              while (killing) {
                for (let n = 1 + Math.floor(random() * 3); n > 0; n -= 1) await write(device);
                await device.client.syncOnce();
                await sleep(50 + Math.floor(random() * 150));
              }
            }),
          );

          await sleep(KILL_PHASE_MS);
          killing = false;
          await Promise.all([killer, health, ...streams, ...work]);
          expect(failures).toEqual([]);

          // The database is back: every device syncs until nothing is left to push.
          for (const device of devices) {
            for (let round = 0; (await device.db.outbox.count()) > 0 || round === 0; round += 1) {
              if (round === 20) throw new Error(`${device.name}: outbox not empty after 20 rounds`);
              const outcome = await device.client.syncOnce();
              if (outcome.kind !== 'ok') await sleep(500);
            }
          }
          for (const device of devices) await device.client.syncOnce();

          const fivexx = answers.filter((a) => a.status >= 500 && a.status !== 503);
          expect(fivexx, 'answers with a 5xx other than 503').toEqual([]);
          expect(
            answers.filter((a) => a.ms === null),
            `unanswered within ${ANSWER_WITHIN_MS} ms`,
          ).toEqual([]);
          expect(
            answers.filter((a) => a.status === 0 || (a.status === 503 && a.retryAfter === null)),
          ).toEqual([]);
          expect(terminated, 'backends terminated').toBeGreaterThan(0);
          expect(
            answers.filter((a) => a.status === 503).length,
            'requests that met a lost connection',
          ).toBeGreaterThan(0);

          // Every pool client is back, and the pool is usable.
          const counts = database.connections();
          expect(counts).not.toBeNull();
          expect(counts?.waiting).toBe(0);
          expect(counts?.idle).toBe(counts?.total);
          expect(counts?.total).toBeLessThanOrEqual(POOL_MAX);

          // Exactly once: every lane's last_seq is the device's last seq; no seq answered `ok` twice; no rejection.
          for (const device of devices) expect(await device.db.outbox.count(), device.name).toBe(0);
          const lanes = new Map(
            (await database.db.select().from(syncClients)).map((row) => [
              `${row.clientId}/${row.lane}`,
              row.lastSeq,
            ]),
          );
          for (const [key, seq] of lastSeq) expect(lanes.get(key), key).toBe(seq);
          expect(answeredOk.length, 'a seq answered ok twice').toBe(new Set(answeredOk).size);
          expect(rejected).toEqual([]);
          const live = await serverSnapshot(server.url, await signIn());
          const liveIds = [...live.mood_entries, ...live.coping_tools_usage, ...live.emergency_incidents].map(
            (r) => r.id,
          );
          expect(liveIds.sort()).toEqual([...createdIds].sort());
          const samples = (await database.db.select().from(sensorReadings)).filter(
            (r) => r.userId === userId,
          );
          expect(samples.map((r) => r.id).sort()).toEqual([...createdSamples].sort());
          for (const device of devices) expect(await device.snapshot(), device.name).toEqual(live);

          // Pokes cross the re-opened LISTEN connection again.
          const token = await signIn();
          const stream = await openEventStream(
            server.url,
            token,
            'poke',
            (data) => data as { version: number },
          );
          const first = await stream.next();
          const [device] = devices;
          if (device === undefined) throw new Error('no device');
          await write(device);
          await device.client.syncOnce();
          const poke = await stream.next();
          expect(poke.version).toBeGreaterThan(first.version);
          stream.close();
          console.log(
            `database faults: ${terminated} backends terminated, ${answers.length} requests, ` +
              `${answers.filter((a) => a.status === 503).length} answered 503, ${answeredOk.length} mutations acknowledged`,
          );
        } finally {
          killing = false;
          for (const device of devices) await device.close();
          await admin.end();
          await server.app.close();
          await pokes.close();
          await database.close();
        }
      },
    );
  },
);
