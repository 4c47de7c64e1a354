/**
 * Our sync and PouchDB side by side over the same shaped link (issue #3 item 8). For each link profile, every
 * scenario gets a fresh shaping proxy (shaping-proxy.ts: new connections, a new seeded loss pattern) in front of
 * the server under test, and the proxy's meter gives the requests and the bytes per direction.
 *
 * Ours: the real sync server (`buildApp`, embedded auth) listening on a loopback port, on each database target
 * (PGlite memory, and Postgres when reachable); devices are the real client library (web/src/sync: Dexie on
 * fake-indexeddb, the mutators, `createSyncClient`, `createHttpTransport` over Node's fetch, gzip both ways),
 * signed up and in (`POST /auth/v1/signup`, then `/auth/v1/token`) directly, not through the proxy.
 * PouchDB: pouch-peer.ts (PouchDB 9 → express-pouchdb + compression, memory adapter on both sides).
 *
 * Scenarios, the same records for both (sync-records.ts):
 * 1. catch-up: a signed-in device holds `records` offline mood entries and syncs once. Ours: one `syncOnce`
 *    (push the user lane, then pull until complete; since protocol 4 the pull leaves its own new rows out).
 *    PouchDB: the docs in a local database, one-shot `replicate` to the server.
 * 2. fresh pull: a new device of the same user gets those records. Ours: `syncOnce` from cursor 0. PouchDB:
 *    one-shot `replicate` from the server into an empty database.
 * 3. idle check-in: a device syncs with nothing new either way. Ours: the device of 2, `syncOnce`. PouchDB: a
 *    one-shot `PouchDB.sync` (push and pull) of a device holding IDLE_DOCS docs, once its two-way sync went quiet.
 * 4. samples: `samples` heart-rate samples. Ours: `samples.append@2` mutations of SAMPLES_PER_MUTATION samples on
 *    the bulk lane (one id per mutation), one `syncOnce`. PouchDB (the first `pouchSamples` of them, to keep the
 *    run short): one doc per sample `{_id, kind, t, v}` under the id our server derives for it, live replication until the server has them all, and (its best batching) one doc
 *    per SAMPLES_PER_MUTATION samples in our columnar shape, one-shot `replicate`.
 *    During the one-doc-per-sample replication PouchDB also gets the incident of 5, written 1, 2, … s after it
 *    starts: the time to the server is measured from the local put to the doc showing up in the server's database.
 * 5. incident behind a backlog (ours): the device holds `incidentBacklog` unsent samples and its sync loop
 *    (`startSyncLoop`) starts uploading them; at an evenly spread moment of the upload (measured in an uncounted
 *    first try) the user triggers an incident. Local commit = `triggerIncident` resolving; server commit = the
 *    server sending its answer to the critical push that carries it (a fastify onSend hook), both from the tap.
 */
// First: installs fake-indexeddb before anything loads Dexie.
import { seededRandom } from '@vitalwatch/schema/seeded-random';
import { newIndexedDb } from '../integration/fake-indexeddb.ts';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { buildApp } from '@vitalwatch/sync-server/app';
import { UNTHROTTLED_HTTP_LIMITS } from '../sync-server/test/unthrottled-limits.ts';
import { generateSigningKey } from '@vitalwatch/sync-server/auth/signing-key';
import { bindUser, openLocalDb, type LocalDb } from '../web/src/sync/local-db.ts';
import { createHttpTransport } from '../web/src/sync/http-transport.ts';
import type { SyncTransport } from '../web/src/sync/transport.ts';
import { createMutators, type Mutators } from '../web/src/sync/mutators.ts';
import { createSyncClient, type SyncClient, type SyncOutcome } from '../web/src/sync/sync-client.ts';
import { startSyncLoop } from '../web/src/sync/sync-loop.ts';
import type { BenchTarget, TargetName } from './bench-targets.ts';
import { yieldToEventLoop } from './event-loop.ts';
import {
  openDeviceDb,
  openRemoteDb,
  replicate,
  startPouchServer,
  syncBothWays,
  type PouchDatabase,
  type PouchDoc,
  type PouchServer,
} from './pouch-peer.ts';
import { startShapingProxy, type LinkProfile, type MeterSnapshot } from './shaping-proxy.ts';
import { percentile } from './stats.ts';
import {
  chunkSampleIds,
  heartRateChunks,
  moodRecords,
  uuidv7At,
  type MoodRecord,
  type SampleChunk,
} from './sync-records.ts';

export const SAMPLES_PER_MUTATION = 1_000;

/** Opens each database target ours runs on (null: skipped, e.g. Postgres unreachable). */
export type TargetOpeners = ReadonlyArray<() => Promise<BenchTarget | null>>;

export type ComparePlan = {
  profile: LinkProfile;
  /** Mood entries in the catch-up and fresh-pull scenarios. */
  records: number;
  /** Samples in ours' samples scenario. */
  samples: number;
  /** The first this many of them in PouchDB's (a multiple of SAMPLES_PER_MUTATION). */
  pouchSamples: number;
  /** Unsent samples ahead of each incident (ours). */
  incidentBacklog: number;
  /** Measured incident tries (ours), after one uncounted try that times the backlog upload. */
  incidentTries: number;
  /** PouchDB incident docs written during its samples replication, one a second from 1 s. */
  pouchIncidents: number;
};

/** One scenario's run: wall time and what crossed the proxy. */
export type Measured = {
  seconds: number;
  meter: MeterSnapshot;
  /** Records the scenario moved (mutations, rows, docs, samples). */
  records: number;
  detail: string;
};

export type OursResult = {
  target: TargetName;
  serverVersion: string;
  /** ms per local mood mutation (fake-indexeddb; not a phone's figure). */
  localWriteMsPerMood: number;
  catchUp: Measured & { pushRequests: number; pullRequests: number; pushBytes: number; pullBytes: number };
  freshPull: Measured;
  idle: Measured;
  samples: Measured & { pushBytes: number };
  incident: IncidentResult;
};

export type IncidentResult = {
  backlog: number;
  backlogUploadSeconds: number;
  tries: number;
  /** When each tap came, ms after its backlog upload started. */
  offsetsMs: number[];
  localCommitMs: number[];
  serverCommitMs: number[];
  localP95Ms: number;
  serverP95Ms: number;
  serverP50Ms: number;
  /** What crossed the proxy during the tries (the uncounted first upload included). */
  meter: MeterSnapshot;
};

/** `BENCH_ONLY=sync-incident`: scenario 5 alone, ours only, on each target. */
export type IncidentRun = {
  plan: ComparePlan;
  ours: Array<{ target: TargetName; serverVersion: string; incident: IncidentResult }>;
  seconds: number;
};

export type PouchResult = {
  catchUp: Measured;
  freshPull: Measured;
  idle: Measured;
  samplesOneDocEach: Measured;
  samplesColumnarDocs: Measured;
  incident: { localPutMs: number[]; toServerMs: number[]; arrived: number; written: number };
};

export type CompareResult = {
  plan: ComparePlan;
  ours: OursResult[];
  pouch: PouchResult;
  seconds: number;
};

const ISSUER = 'http://bench.invalid/auth/v1';
const MOOD_SEED = 20_260_101;
const SAMPLE_SEED = 20_260_102;
/** How often the PouchDB server database is checked for the incident docs. */
const POLL_MS = 50;
/** Docs in the PouchDB idle check-in's database. */
const IDLE_DOCS = 100;

function bytesOf(meter: MeterSnapshot, prefix: string): number {
  return Object.entries(meter.bytesByRoute)
    .filter(([route]) => route.startsWith(prefix))
    .reduce((total, [, bytes]) => total + bytes.up + bytes.down, 0);
}

function requestsOf(meter: MeterSnapshot, prefix: string): number {
  return Object.entries(meter.requestsByRoute)
    .filter(([route]) => route.startsWith(prefix))
    .reduce((total, [, count]) => total + count, 0);
}

/**
 * The server a system's devices reach through the proxy. Every scenario gets a fresh proxy (new connections, so
 * each scenario pays its TCP set-up as a device coming online would), on the same port as the last one: PouchDB
 * names its replication checkpoints after the remote URL, so the URL must not change between scenarios.
 */
type Upstream = { port: number; proxyPort: number };

/** Runs `work` through a fresh proxy in front of `upstream`; `seed` fixes its loss pattern. */
async function throughProxy<T>(
  upstream: Upstream,
  profile: LinkProfile,
  seed: number,
  work: (url: string) => Promise<T>,
): Promise<{ value: T; seconds: number; meter: MeterSnapshot }> {
  const proxy = await startShapingProxy({
    upstreamPort: upstream.port,
    port: upstream.proxyPort,
    profile,
    random: seededRandom(seed),
  });
  upstream.proxyPort = proxy.port;
  try {
    const started = performance.now();
    const value = await work(proxy.url);
    const seconds = (performance.now() - started) / 1000;
    return { value, seconds, meter: proxy.snapshot() };
  } finally {
    await proxy.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Ours

type OurServer = {
  app: Awaited<ReturnType<typeof buildApp>>;
  port: number;
  /** Resolves when the server answers the critical push carrying incident `id` (performance.now() ms). */
  committed(id: string): Promise<number>;
  close(): Promise<void>;
};

async function startOurServer(target: BenchTarget): Promise<OurServer> {
  const app = await buildApp({
    db: target.database.db,
    // A benchmark measures speed, not the request limits (one user sends thousands of requests).
    limits: UNTHROTTLED_HTTP_LIMITS,
    dbKind: target.database.kind,
    auth: {
      kind: 'embedded',
      key: await generateSigningKey(),
      issuer: ISSUER,
      accessTokenTtlSeconds: 3_600,
      sessionTtlDays: 1,
    },
    publicUrl: 'http://bench.invalid',
    webDist: null,
  });
  const commits = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  // The answer to a push is sent after its transaction committed: the closest outside view of the commit.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url !== '/sync/push' || reply.statusCode !== 200) return payload;
    const at = performance.now();
    for (const id of incidentIdsIn(request.body)) {
      commits.set(id, at);
      waiting.get(id)?.(at);
    }
    return payload;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    port: (app.server.address() as AddressInfo).port,
    committed: (id) => {
      const at = commits.get(id);
      return at !== undefined ? Promise.resolve(at) : new Promise((resolve) => waiting.set(id, resolve));
    },
    close: () => app.close(),
  };
}

/** Ids of the `incident.trigger@1` mutations of a parsed push body (anything else: none). */
function incidentIdsIn(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || !('mutations' in body) || !Array.isArray(body.mutations)) {
    return [];
  }
  const ids: string[] = [];
  for (const mutation of body.mutations as unknown[]) {
    if (typeof mutation !== 'object' || mutation === null) continue;
    if (!('name' in mutation) || mutation.name !== 'incident.trigger@1' || !('args' in mutation)) continue;
    const args = mutation.args;
    if (typeof args === 'object' && args !== null && 'id' in args && typeof args.id === 'string') {
      ids.push(args.id);
    }
  }
  return ids;
}

type Session = { userId: string; accessToken: string };

async function signUp(port: number): Promise<Session> {
  const body = JSON.stringify({
    email: `compare-${uuidv7At(Date.now())}@example.invalid`,
    password: 'a long enough bench passphrase',
  });
  const send = (path: string) =>
    fetch(`http://127.0.0.1:${port}/auth/v1/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
  const up = await send('signup');
  if (up.status !== 200) throw new Error(`sign-up: HTTP ${up.status} ${await up.text()}`);
  // Sign-up answers the user without a session (SE45); the session comes from signing in.
  const res = await send('token?grant_type=password');
  if (res.status !== 200) throw new Error(`sign-in: HTTP ${res.status} ${await res.text()}`);
  const session = (await res.json()) as { access_token: string; user: { id: string } };
  return { userId: session.user.id, accessToken: session.access_token };
}

let ourDeviceCount = 0;

type OurDevice = {
  db: LocalDb;
  mutators: Mutators;
  /**
   * A sync client whose transport goes to `baseUrl` (the scenario's proxy). The transport lives as long as the
   * device, as in the app (one per page or service worker): a sync token it learnt stays in use (SPEC AU7).
   */
  client(baseUrl: string): SyncClient;
  close(): Promise<void>;
};

async function openOurDevice(session: Session): Promise<OurDevice> {
  ourDeviceCount += 1;
  const db = openLocalDb({ name: `vw-compare-${ourDeviceCount}`, dexie: newIndexedDb() });
  await bindUser(db, session.userId);
  const transports = new Map<string, SyncTransport>();
  const transport = (baseUrl: string) => {
    const known = transports.get(baseUrl) ?? createHttpTransport({ baseUrl });
    transports.set(baseUrl, known);
    return known;
  };
  return {
    db,
    mutators: createMutators({ db, now: Date.now }),
    client: (baseUrl) =>
      createSyncClient({
        db,
        transport: transport(baseUrl),
        now: Date.now,
        getAccessToken: async () => session.accessToken,
        refreshAccessToken: async () => null,
      }),
    async close() {
      db.close();
      await db.delete();
    },
  };
}

function expectOk(outcome: SyncOutcome, what: string): Extract<SyncOutcome, { kind: 'ok' }> {
  if (outcome.kind !== 'ok' || outcome.stuckLanes.length > 0) {
    throw new Error(`${what}: sync ended ${JSON.stringify(outcome)}`);
  }
  return outcome;
}

async function benchOurs(
  target: BenchTarget,
  plan: ComparePlan,
  moods: readonly MoodRecord[],
  samples: readonly SampleChunk[],
  seedBase: number,
): Promise<OursResult> {
  const server = await startOurServer(target);
  const upstream: Upstream = { port: server.port, proxyPort: 0 };
  const { profile } = plan;
  const log = (line: string) => console.log(`   [ours ${target.name}, ${profile.name}] ${line}`);
  try {
    const session = await signUp(server.port);
    const writer = await openOurDevice(session);

    // 1. catch-up
    const started = performance.now();
    for (const mood of moods) await writer.mutators.upsertMood(mood);
    const localWriteMsPerMood = (performance.now() - started) / moods.length;
    log(`${moods.length} moods written locally: ${localWriteMsPerMood.toFixed(2)} ms each`);
    await yieldToEventLoop();
    const catchUp = await throughProxy(upstream, profile, seedBase + 1, (url) =>
      writer.client(url).syncOnce(),
    );
    const caught = expectOk(catchUp.value, 'catch-up');
    if (caught.pushed !== moods.length || (await writer.db.outbox.count()) !== 0) {
      throw new Error(`catch-up pushed ${caught.pushed} of ${moods.length}`);
    }
    log(
      `catch-up: ${catchUp.seconds.toFixed(1)} s, ${catchUp.meter.requests} requests, pulled back ${caught.pulled}`,
    );

    // 2. fresh pull, 3. idle check-in
    const reader = await openOurDevice(session);
    const freshPull = await throughProxy(upstream, profile, seedBase + 2, (url) =>
      reader.client(url).syncOnce(),
    );
    const pulled = expectOk(freshPull.value, 'fresh pull');
    const readerMoods = await reader.db.mood_entries.count();
    if (readerMoods !== moods.length) throw new Error(`fresh pull: ${readerMoods} moods of ${moods.length}`);
    log(
      `fresh pull: ${freshPull.seconds.toFixed(1)} s, ${freshPull.meter.requests} requests, ${pulled.pulled} changes`,
    );
    const idle = await throughProxy(upstream, profile, seedBase + 3, (url) => reader.client(url).syncOnce());
    const idleOutcome = expectOk(idle.value, 'idle');
    log(`idle: ${idle.meter.requests} requests, ${idle.meter.bytesUp + idle.meter.bytesDown} B`);

    // 4. samples
    // As appendSamples writes them, under the chunk's own batch id so PouchDB's docs carry the same ids.
    for (const chunk of samples) await writer.mutators.mutate('samples.append@2', chunk);
    const sampleCount = samples.reduce((total, chunk) => total + chunk.dt.length, 0);
    const samplesRun = await throughProxy(upstream, profile, seedBase + 4, (url) =>
      writer.client(url).syncOnce(),
    );
    expectOk(samplesRun.value, 'samples');
    log(`samples: ${samplesRun.seconds.toFixed(1)} s, ${samplesRun.meter.requests} requests`);

    // 5. incident behind a backlog
    const incident = await benchOurIncident(server, upstream, writer, plan, seedBase + 5, log);

    await reader.close();
    await writer.close();
    return {
      target: target.name,
      serverVersion: target.serverVersion,
      localWriteMsPerMood,
      catchUp: {
        seconds: catchUp.seconds,
        meter: catchUp.meter,
        records: moods.length,
        detail: `pushed ${caught.pushed}, pulled back ${caught.pulled}`,
        pushRequests: requestsOf(catchUp.meter, 'POST /sync/push'),
        pullRequests: requestsOf(catchUp.meter, 'POST /sync/pull'),
        pushBytes: bytesOf(catchUp.meter, 'POST /sync/push'),
        pullBytes: bytesOf(catchUp.meter, 'POST /sync/pull'),
      },
      freshPull: { ...measured(freshPull, moods.length), detail: `${pulled.pulled} changes` },
      idle: { ...measured(idle, 0), detail: `pushed ${idleOutcome.pushed}, pulled ${idleOutcome.pulled}` },
      samples: {
        ...measured(samplesRun, sampleCount),
        detail: `${samples.length} samples.append@2 of ≤ ${SAMPLES_PER_MUTATION}`,
        pushBytes: bytesOf(samplesRun.meter, 'POST /sync/push'),
      },
      incident,
    };
  } finally {
    await server.close();
  }
}

function measured(run: { seconds: number; meter: MeterSnapshot }, records: number): Measured {
  return { seconds: run.seconds, meter: run.meter, records, detail: '' };
}

async function benchOurIncident(
  server: OurServer,
  upstream: Upstream,
  device: OurDevice,
  plan: ComparePlan,
  seed: number,
  log: (line: string) => void,
): Promise<IncidentResult> {
  const random = seededRandom(seed);
  const offsetsMs: number[] = [];
  const localCommitMs: number[] = [];
  const serverCommitMs: number[] = [];
  let backlogUploadSeconds = Number.NaN;
  const proxy = await startShapingProxy({
    upstreamPort: server.port,
    port: upstream.proxyPort,
    profile: plan.profile,
    random,
  });
  try {
    const client = device.client(proxy.url);
    for (let attempt = -1; attempt < plan.incidentTries; attempt++) {
      const backlog = heartRateChunks(
        plan.incidentBacklog,
        SAMPLES_PER_MUTATION,
        Date.now() - 86_400_000,
        random,
      );
      for (const chunk of backlog) await device.mutators.mutate('samples.append@2', chunk);
      await yieldToEventLoop();

      if (attempt < 0) {
        // Uncounted: how long the backlog takes to upload, so the taps can be spread over it.
        const started = performance.now();
        expectOk(await client.syncOnce(), 'backlog');
        backlogUploadSeconds = (performance.now() - started) / 1000;
        log(`backlog of ${plan.incidentBacklog} samples uploaded in ${backlogUploadSeconds.toFixed(1)} s`);
        continue;
      }
      // The app's wiring: the loop starts a round at once, and every local write tells it (critical: at once).
      const loop = startSyncLoop({ sync: () => client.syncOnce(), afterWriteDelayMs: 0 });
      const mutators = createMutators({
        db: device.db,
        now: Date.now,
        onCommitted: (lane) => loop.notifyLocalWrite(lane),
      });
      const started = performance.now();
      const offsetMs = ((attempt + 0.5) / plan.incidentTries) * backlogUploadSeconds * 1000;
      offsetsMs.push(offsetMs);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, started + offsetMs - performance.now())),
      );
      const id = uuidv7At(Date.now());
      const tappedAt = performance.now();
      await mutators.triggerIncident({
        id,
        code: `B${String(attempt).padStart(5, '0')}`,
        trigger: 'panic_button',
        triggeredAt: Date.now(),
      });
      localCommitMs.push(performance.now() - tappedAt);
      const committedAt = await server.committed(id);
      serverCommitMs.push(committedAt - tappedAt);
      await loop.idle();
      while ((await device.db.outbox.count()) > 0) {
        await loop.syncNow();
        await loop.idle();
      }
      loop.stop();
      log(
        `incident ${attempt + 1}/${plan.incidentTries} at ${(offsetMs / 1000).toFixed(1)} s into the backlog: ` +
          `local ${localCommitMs.at(-1)?.toFixed(1)} ms, server ${serverCommitMs.at(-1)?.toFixed(0)} ms`,
      );
    }
  } finally {
    await proxy.close();
  }
  return {
    backlog: plan.incidentBacklog,
    backlogUploadSeconds,
    tries: plan.incidentTries,
    offsetsMs,
    localCommitMs,
    serverCommitMs,
    localP95Ms: percentile(localCommitMs, 95),
    serverP95Ms: percentile(serverCommitMs, 95),
    serverP50Ms: percentile(serverCommitMs, 50),
    meter: proxy.snapshot(),
  };
}

/**
 * Scenario 5 alone (`BENCH_ONLY=sync-incident`), ours only: per target a fresh server and a freshly signed-in
 * device (an empty local database, where the full run's device already holds the moods of 1), and the same seeds
 * as in the full run.
 */
export async function benchSyncIncident(
  plan: ComparePlan,
  openTargets: TargetOpeners,
  seedBase: number,
): Promise<IncidentRun> {
  const started = performance.now();
  const ours = await onEachTarget(openTargets, async (target, i) => {
    const server = await startOurServer(target);
    try {
      const device = await openOurDevice(await signUp(server.port));
      const log = (line: string) => console.log(`   [ours ${target.name}, ${plan.profile.name}] ${line}`);
      const upstream: Upstream = { port: server.port, proxyPort: 0 };
      const incident = await benchOurIncident(server, upstream, device, plan, seedBase + 10 * i + 5, log);
      await device.close();
      return { target: target.name, serverVersion: target.serverVersion, incident };
    } finally {
      await server.close();
    }
  });
  return { plan, ours, seconds: (performance.now() - started) / 1000 };
}

/** `work` on each target that opens, in order; each is closed after its work. */
async function onEachTarget<T>(
  openTargets: TargetOpeners,
  work: (target: BenchTarget, index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  for (const [i, open] of openTargets.entries()) {
    const target = await open();
    if (target === null) continue;
    try {
      results.push(await work(target, i));
    } finally {
      await target.close();
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------------
// PouchDB

function moodDoc(mood: MoodRecord): PouchDoc {
  return { _id: mood.id, recordedAt: mood.recordedAt, ...mood.fields };
}

function sampleDocs(chunk: SampleChunk): PouchDoc[] {
  let t = chunk.t0;
  return chunkSampleIds(chunk).map((id, i) => {
    t += chunk.dt[i] ?? 0;
    return { _id: id, kind: chunk.kind, t, v: chunk.v[i] ?? 0 };
  });
}

async function fill(db: PouchDatabase, docs: readonly PouchDoc[]): Promise<void> {
  for (let i = 0; i < docs.length; i += 1_000) {
    const results = await db.bulkDocs(docs.slice(i, i + 1_000));
    const failed = results.find((result) => result.error !== undefined);
    if (failed !== undefined) throw new Error(`PouchDB bulkDocs: ${JSON.stringify(failed)}`);
  }
}

async function pushAll(
  upstream: Upstream,
  server: PouchServer,
  dbName: string,
  local: PouchDatabase,
  profile: LinkProfile,
  seed: number,
  expected: number,
  duringReplication?: () => Promise<void>,
) {
  const run = await throughProxy(upstream, profile, seed, async (url) => {
    const remote = openRemoteDb(`${url}/${dbName}`);
    try {
      if (duringReplication === undefined) return await replicate(local, remote.db);
      // Live, as an app runs it, so docs written meanwhile go too; cancelled once the server has everything.
      const replication = replicate(local, remote.db, { live: true });
      await duringReplication();
      const serverDb = server.database(dbName);
      while ((await serverDb.info()).doc_count < expected) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      replication.cancel();
      return await replication;
    } finally {
      remote.close();
    }
  });
  // A cancelled live replication may report its last batch late; the server's doc count was checked above.
  const written = duringReplication === undefined ? run.value.docs_written : expected;
  if (run.value.doc_write_failures > 0 || written < expected) {
    throw new Error(`PouchDB replicate to ${dbName}: ${JSON.stringify(run.value)}`);
  }
  return run;
}

async function benchPouch(
  plan: ComparePlan,
  moods: readonly MoodRecord[],
  samples: readonly SampleChunk[],
  seedBase: number,
): Promise<PouchResult> {
  const server = await startPouchServer();
  const upstream: Upstream = { port: server.port, proxyPort: 0 };
  const { profile } = plan;
  const log = (line: string) => console.log(`   [PouchDB, ${profile.name}] ${line}`);
  try {
    for (const name of ['moods', 'samples', 'samples-columnar']) await server.database(name).info();

    // 1. catch-up
    const writer = openDeviceDb('moods');
    await fill(writer, moods.map(moodDoc));
    const catchUp = await pushAll(upstream, server, 'moods', writer, profile, seedBase + 1, moods.length);
    log(`catch-up: ${catchUp.seconds.toFixed(1)} s, ${catchUp.meter.requests} requests`);

    // 2. fresh pull, 3. idle check-in
    const reader = openDeviceDb('reader');
    const freshPull = await throughProxy(upstream, profile, seedBase + 2, async (url) => {
      const remote = openRemoteDb(`${url}/moods`);
      try {
        return await replicate(remote.db, reader);
      } finally {
        remote.close();
      }
    });
    const readerDocs = (await reader.info()).doc_count;
    if (readerDocs !== moods.length)
      throw new Error(`PouchDB fresh pull: ${readerDocs} docs of ${moods.length}`);
    log(`fresh pull: ${freshPull.seconds.toFixed(1)} s, ${freshPull.meter.requests} requests`);
    // Idle: a device whose two-way sync has gone quiet syncs again. Its own small database (the first
    // IDLE_DOCS moods): a device's first two-way sync re-sends every pulled doc's revision through `_revs_diff`
    // (~300 requests for 10,000 docs), and a check-in with nothing new reads only checkpoints and empty change
    // lists, whatever the database holds.
    const idler = openDeviceDb('idle');
    await fill(idler, moods.slice(0, IDLE_DOCS).map(moodDoc));
    await server.database('idle').info();
    const syncOnce = async (url: string) => {
      const remote = openRemoteDb(`${url}/idle`);
      try {
        return await syncBothWays(idler, remote.db);
      } finally {
        remote.close();
      }
    };
    // Uncounted warm-up until a sync reads no doc: the first pushes the docs; the second reads none but still
    // makes 11 requests (its pull side re-checks what the first pushed); the third is the idle check-in.
    for (let round = 1; ; round++) {
      const warmUp = await throughProxy(upstream, profile, seedBase + 7 + round, syncOnce);
      const { push, pull } = warmUp.value;
      log(
        `two-way sync ${round} of ${IDLE_DOCS} docs (uncounted): ${warmUp.meter.requests} requests, ` +
          `read ${push.docs_read} + ${pull.docs_read} docs`,
      );
      if (push.docs_read + pull.docs_read === 0) break;
      if (round === 4) throw new Error('PouchDB idle: two-way sync never went quiet');
    }
    const idle = await throughProxy(upstream, profile, seedBase + 3, syncOnce);
    log(`idle: ${idle.meter.requests} requests, ${idle.meter.bytesUp + idle.meter.bytesDown} B`);

    // 4. samples, one doc each, with the incidents of 5 written during the replication
    const pouchChunks = samples.slice(0, Math.ceil(plan.pouchSamples / SAMPLES_PER_MUTATION));
    const sampleWriter = openDeviceDb('samples');
    const oneDocEach = pouchChunks.flatMap(sampleDocs);
    await fill(sampleWriter, oneDocEach);
    const serverSamples = server.database('samples');
    const written: Array<{ id: string; at: number; putMs: number }> = [];
    const arrivals = new Map<string, number>();
    let replicating = true;
    // The server's database is polled for the incident docs every POLL_MS (its live changes feed does not see
    // writes made through express-pouchdb's own handle on the database).
    const watch = async () => {
      while (replicating || arrivals.size < written.length) {
        const missing = written.map((w) => w.id).filter((id) => !arrivals.has(id));
        if (missing.length > 0) {
          const found = await serverSamples.allDocs({ keys: missing });
          for (const row of found.rows) if (row.error === undefined) arrivals.set(row.key, performance.now());
        }
        if (!replicating && arrivals.size < written.length) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    };
    const incidents = async () => {
      for (let i = 0; i < plan.pouchIncidents; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const id = uuidv7At(Date.now());
        const at = performance.now();
        await sampleWriter.put({
          _id: id,
          type: 'incident',
          code: `B${String(i).padStart(5, '0')}`,
          trigger: 'panic_button',
          triggeredAt: Date.now(),
        });
        written.push({ id, at, putMs: performance.now() - at });
      }
    };
    const watching = watch();
    const samplesOneDocEach = await pushAll(
      upstream,
      server,
      'samples',
      sampleWriter,
      profile,
      seedBase + 4,
      oneDocEach.length + plan.pouchIncidents,
      incidents,
    );
    replicating = false;
    await watching;
    log(
      `samples, one doc each: ${samplesOneDocEach.seconds.toFixed(1)} s, ${samplesOneDocEach.meter.requests} requests`,
    );
    const toServerMs = written.flatMap(({ id, at }) => {
      const arrived = arrivals.get(id);
      return arrived === undefined ? [] : [arrived - at];
    });

    // 4b. samples, PouchDB's best batching: one columnar doc per mutation's worth
    const columnarWriter = openDeviceDb('samples-columnar');
    await fill(
      columnarWriter,
      pouchChunks.map(({ id, ...columns }) => ({ _id: id, ...columns })),
    );
    const samplesColumnarDocs = await pushAll(
      upstream,
      server,
      'samples-columnar',
      columnarWriter,
      profile,
      seedBase + 6,
      pouchChunks.length,
    );
    log(
      `samples, columnar docs: ${samplesColumnarDocs.seconds.toFixed(1)} s, ${samplesColumnarDocs.meter.requests} requests`,
    );

    const sampleCount = oneDocEach.length;
    for (const db of [writer, reader, idler, sampleWriter, columnarWriter]) await db.destroy();
    return {
      catchUp: { ...measured(catchUp, moods.length), detail: `${catchUp.value.docs_written} docs written` },
      freshPull: {
        ...measured(freshPull, moods.length),
        detail: `${freshPull.value.docs_written} docs written`,
      },
      idle: {
        ...measured(idle, 0),
        detail: `push ${idle.value.push.docs_written} docs, pull ${idle.value.pull.docs_written} docs`,
      },
      samplesOneDocEach: {
        ...measured(samplesOneDocEach, sampleCount),
        detail: `${sampleCount} docs + ${written.length} incident docs`,
      },
      samplesColumnarDocs: {
        ...measured(samplesColumnarDocs, sampleCount),
        detail: `${pouchChunks.length} docs`,
      },
      incident: {
        localPutMs: written.map((w) => w.putMs),
        toServerMs,
        arrived: toServerMs.length,
        written: written.length,
      },
    };
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------------------

/** One link profile: ours on every target, then PouchDB, with the same records. */
export async function benchSyncCompare(
  plan: ComparePlan,
  openTargets: TargetOpeners,
  seedBase: number,
): Promise<CompareResult> {
  const started = performance.now();
  const now = Date.now();
  const moods = moodRecords(plan.records, now - 3_600_000, seededRandom(MOOD_SEED));
  const samples = heartRateChunks(
    plan.samples,
    SAMPLES_PER_MUTATION,
    now - 2 * 86_400_000,
    seededRandom(SAMPLE_SEED),
  );
  const ours = await onEachTarget(openTargets, (target, i) =>
    benchOurs(target, plan, moods, samples, seedBase + 10 * i),
  );
  const pouch = await benchPouch(plan, moods, samples, seedBase + 100);
  return { plan, ours, pouch, seconds: (performance.now() - started) / 1000 };
}
