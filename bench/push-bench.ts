/**
 * Push throughput through the real sync server: `buildApp` with the embedded identity provider, driven in-process
 * with `app.inject` (no sockets, no network), so every figure is the server's own cost: routing, gunzip, token
 * check, protocol parse, `runPush` and the database. One signed-up user, on a fresh migrated database per target.
 *
 * 1. `mood.upsert@1`, MOOD_BATCH new entries per push on the `user` lane, against the ceiling: the same rows
 *    (fresh ids) as one drizzle multi-row INSERT into `mood_entries` in autocommit.
 * 2. `samples.append@2`, one mutation of SAMPLES_PER_MUTATION samples per push on the `bulk` lane (one batch id;
 *    the server derives each sample's id), against the ceiling: the same samples (fresh ids) through the sensor bench's unnest statement (append-methods.ts).
 *    In 1 and 2 the ceiling batch and the push alternate, so a slow moment on the shared VM hits both; medians.
 * 3. `incident.trigger@1` on the `critical` lane of a second device: alone, then arriving while a MOOD_BATCH push
 *    is in flight (both pushes lock the user's version counter, ARCHITECTURE.md "Known problems").
 *
 * Request bodies are JSON gzipped before the clock starts (the client compresses, the server inflates), and the
 * server answers gzip. Every response is checked (every seq `ok`) and the committed rows are counted at the end.
 */
import { seededRandom } from '@vitalwatch/schema/seeded-random';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import pg from 'pg';
import { and, count, eq } from 'drizzle-orm';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { emergencyIncidents, moodEntries, sensorReadings } from '@vitalwatch/schema/db/tables';
import { SENSOR_KINDS } from '@vitalwatch/schema/db/safety';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import type { MutatorArgs, MutatorName } from '@vitalwatch/schema/protocol/mutators';
import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import { newSampleBatchId } from '@vitalwatch/schema/protocol/sample-ids';
import type { Mutation, PushRequest } from '@vitalwatch/schema/protocol/push-request';
import type { PushResponse } from '@vitalwatch/schema/protocol/push-response';
import { buildApp } from '@vitalwatch/sync-server/app';
import { UNTHROTTLED_HTTP_LIMITS } from '../sync-server/test/unthrottled-limits.ts';
import { generateSigningKey } from '@vitalwatch/sync-server/auth/signing-key';
import type { Db } from '@vitalwatch/sync-server/db/database';
import { unnestAppend } from './append-methods.ts';
import type { BenchTarget, TargetName } from './bench-targets.ts';
import { yieldToEventLoop } from './event-loop.ts';
import { cpuSince, sampleCpu, type CpuUse } from './machine-info.ts';
import type { SensorBatch } from './sensor-samples.ts';
import { median, percentile } from './stats.ts';

/** Issue #3 item 8: committed to real Postgres on this 2-core machine, and ≥ 50% of the raw INSERT ceiling. */
export const PUSH_TARGETS = {
  userMutationsPerSecond: 5_000,
  samplesPerSecond: 50_000,
  ratioOfCeiling: 0.5,
} as const;

export type PushPlan = {
  moodBatch: number;
  samplesPerMutation: number;
  /** Measured batches per figure, after one uncounted warm-up batch of each kind. */
  batches: number;
  triggerTries: number;
};

export type LatencyStats = { tries: number; p50Ms: number; p95Ms: number; maxMs: number; ms: number[] };

export type ThroughputResult = {
  /** Rows (mutations or samples) per push / per ceiling statement. */
  rowsPerBatch: number;
  /** Wall time of each measured push, ms. */
  pushMs: number[];
  perSecond: number[];
  medianPerSecond: number;
  ceilingMs: number[];
  ceilingPerSecond: number[];
  medianCeilingPerSecond: number;
  /** median push rate ÷ median ceiling rate. */
  ratio: number;
  /** gzipped request body of one push, bytes. */
  requestBytes: number;
  /** SQL statements the server sent per row (Postgres only: counted on pg.Client; null on PGlite). */
  statementsPerRow: number | null;
  /** CPU during the measured pushes only (on Postgres "others" includes the server backend). */
  cpu: CpuUse;
};

export type PushResult = {
  target: TargetName;
  serverVersion: string;
  seconds: number;
  /** Contention check for the whole section on this target (as for the sensor targets). */
  cpu: CpuUse;
  mood: ThroughputResult;
  samples: ThroughputResult;
  trigger: {
    alone: LatencyStats;
    /** Latency from the moment the trigger was due (the user push started `offsetsMs` earlier) to its response. */
    duringUserBatch: LatencyStats & {
      offsetsMs: number[];
      /** How late the trigger's request actually left (> 0 when the event loop was busy with the user push). */
      dispatchDelayMs: number[];
      /** Wall time of each concurrent MOOD_BATCH push. */
      userBatchMs: number[];
      /** Tries whose trigger answered after the user push did, i.e. waited behind it. */
      answeredAfterUserBatch: number;
    };
  };
  committed: { moodEntries: number; sensorReadings: number; incidents: number };
};

type App = Awaited<ReturnType<typeof buildApp>>;

const ISSUER_ORIGIN = 'http://bench.invalid';
const HEART_RATE = SENSOR_KINDS.heart_rate_bpm;
const SAMPLE_INTERVAL_MS = 1_728; // 50,000 samples a day, as in sensor-samples.ts
/** A fixed start so every run pushes the same sample times. */
const SAMPLES_START_MS = Date.UTC(2025, 0, 1);

export function latencyStats(ms: number[]): LatencyStats {
  return {
    tries: ms.length,
    p50Ms: percentile(ms, 50),
    p95Ms: percentile(ms, 95),
    maxMs: Math.max(...ms),
    ms,
  };
}

/** `<physical ms, 13 digits>-<counter, 4 hex>-<node>` (schema/src/protocol/common.ts); node must be hex/dashes. */
function hlc(ms: number, node: string): string {
  return `${String(ms).padStart(13, '0')}-0000-${node}`;
}

/** One device's lane: contiguous seqs from 1, an HLC that moves forward by a millisecond per edit. */
export class LaneOutbox {
  readonly clientId = newId();
  #seq = 0;
  #clockMs = Date.now() - 3_600_000;

  constructor(readonly lane: Lane) {}

  get lastSeq(): number {
    return this.#seq;
  }

  /** A gzipped push body carrying `entries` as the next seqs. */
  next(entries: Array<{ name: MutatorName; args: unknown }>): Buffer {
    const mutations: Mutation[] = entries.map(({ name, args }) => {
      this.#seq += 1;
      this.#clockMs += 1;
      return {
        seq: this.#seq,
        name,
        args,
        hlc: hlc(this.#clockMs, this.clientId),
        createdAt: this.#clockMs,
      };
    });
    const body: PushRequest = {
      protocolVersion: PROTOCOL_VERSION,
      clientId: this.clientId,
      lane: this.lane,
      sentAt: Date.now(),
      mutations,
    };
    return zlib.gzipSync(JSON.stringify(body));
  }
}

type Session = { app: App; token: string; userId: UserId };

export async function startServer(target: BenchTarget, bulkStepSamples?: number): Promise<App> {
  const key = await generateSigningKey();
  return buildApp({
    ...(bulkStepSamples !== undefined && { bulkStepSamples }),
    db: target.database.db,
    // A benchmark measures speed, not the request limits (one user sends thousands of requests).
    limits: UNTHROTTLED_HTTP_LIMITS,
    dbKind: target.database.kind,
    auth: {
      kind: 'embedded',
      key,
      issuer: `${ISSUER_ORIGIN}/auth/v1`,
      accessTokenTtlSeconds: 3_600,
      sessionTtlDays: 1,
    },
    publicUrl: ISSUER_ORIGIN,
    webDist: null,
  });
}

async function signUp(app: App): Promise<Session> {
  const payload = {
    email: `bench-push-${newId()}@example.invalid`,
    password: 'a long enough bench passphrase',
  };
  const up = await app.inject({ method: 'POST', url: '/auth/v1/signup', payload });
  if (up.statusCode !== 200) throw new Error(`sign-up failed: ${up.statusCode} ${up.body}`);
  // Sign-up answers the user without a session (SE45); the session comes from signing in.
  const response = await app.inject({ method: 'POST', url: '/auth/v1/token?grant_type=password', payload });
  if (response.statusCode !== 200) throw new Error(`sign-in failed: ${response.statusCode} ${response.body}`);
  const body = response.json<{ access_token: string; user: { id: UserId } }>();
  return { app, token: body.access_token, userId: body.user.id };
}

/** One push; resolves with its wall time in ms and the parsed response. */
async function push(session: Session, body: Buffer): Promise<{ ms: number; response: PushResponse }> {
  const started = performance.now();
  const response = await session.app.inject({
    method: 'POST',
    url: '/sync/push',
    payload: body,
    headers: {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'accept-encoding': 'gzip',
      authorization: `Bearer ${session.token}`,
    },
  });
  const ms = performance.now() - started;
  const raw =
    response.headers['content-encoding'] === 'gzip'
      ? zlib.gunzipSync(response.rawPayload)
      : response.rawPayload;
  if (response.statusCode !== 200) {
    throw new Error(`push: ${response.statusCode} ${raw.toString('utf8').slice(0, 500)}`);
  }
  return { ms, response: JSON.parse(raw.toString('utf8')) as PushResponse };
}

/** Every mutation of the push applied now (`ok`), up to the outbox's last seq. */
function expectAllOk(response: PushResponse, outbox: LaneOutbox, mutations: number): void {
  const bad = response.results.find((result) => result.status !== 'ok');
  if (response.results.length !== mutations || bad !== undefined || response.lastSeq !== outbox.lastSeq) {
    throw new Error(
      `${outbox.lane} push: expected ${mutations} ok up to seq ${outbox.lastSeq}, got ${response.results.length} ` +
        `results, lastSeq ${response.lastSeq}${bad === undefined ? '' : `, first not ok: ${JSON.stringify(bad)}`}`,
    );
  }
}

/** A new mood entry with every field set, as the app's form saves it. */
function moodArgs(i: number, recordedAt: number): MutatorArgs<'mood.upsert@1'> {
  return {
    id: newId(),
    recordedAt,
    fields: {
      mood: 1 + (i % 5),
      energy: 1 + ((i + 2) % 5),
      anxiety: 1 + ((i + 4) % 5),
      sleepHours: 5 + (i % 8) * 0.5,
      emotions: i % 2 === 0 ? ['calm', 'tired'] : ['anxious'],
      note: `Bench entry ${i}: slept badly, better after a walk.`,
    },
  };
}

function moodBatch(size: number, first: number): Array<MutatorArgs<'mood.upsert@1'>> {
  const at = Date.now() - 86_400_000;
  return Array.from({ length: size }, (_, k) => moodArgs(first + k, at + (first + k) * 60_000));
}

/** The ceiling: the rows `moodUpsert` would insert for `batch`, as one multi-row INSERT (13 parameters a row). */
async function insertMoodRows(
  db: Db,
  userId: UserId,
  batch: Array<MutatorArgs<'mood.upsert@1'>>,
  firstVersion: number,
  node: string,
): Promise<void> {
  const now = new Date();
  await db.insert(moodEntries).values(
    batch.map((args, k) => ({
      id: args.id,
      userId,
      recordedAt: new Date(args.recordedAt),
      mood: args.fields.mood ?? 3,
      energy: args.fields.energy ?? null,
      anxiety: args.fields.anxiety ?? null,
      sleepHours: args.fields.sleepHours ?? null,
      emotions: args.fields.emotions ?? [],
      note: args.fields.note ?? null,
      hlc: hlc(now.getTime(), node),
      version: firstVersion + k,
      createdAt: now,
      updatedAt: now,
    })),
  );
}

/** One kind's samples in both shapes: the bulk lane's columnar args and the sensor bench's `SensorBatch`. */
export function sampleBatch(
  random: () => number,
  firstIndex: number,
  size: number,
): { args: MutatorArgs<'samples.append@2'>; sameRowsFreshIds: SensorBatch } {
  const t0 = SAMPLES_START_MS + firstIndex * SAMPLE_INTERVAL_MS;
  const otherIds: string[] = [];
  const dt: number[] = [];
  const v: number[] = [];
  const recordedAtMs: number[] = [];
  for (let i = 0; i < size; i++) {
    otherIds.push(newId());
    dt.push(i === 0 ? 0 : SAMPLE_INTERVAL_MS);
    v.push(Math.round((55 + random() * 50) * 10) / 10);
    recordedAtMs.push(t0 + i * SAMPLE_INTERVAL_MS);
  }
  return {
    args: { kind: HEART_RATE, t0, id: newSampleBatchId(Date.now()), dt, v },
    sameRowsFreshIds: { ids: otherIds, recordedAtMs, kinds: otherIds.map(() => HEART_RATE), values: v },
  };
}

/** Counts statements sent through node-postgres (every drizzle query and BEGIN/SAVEPOINT/COMMIT is one call). */
function countPgStatements(): { read(): number; restore(): void } {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let calls = 0;
  proto.query = function (this: unknown, ...args: unknown[]): unknown {
    calls += 1;
    return original.apply(this, args);
  };
  return {
    read: () => calls,
    restore() {
      proto.query = original;
    },
  };
}

function addCpu(total: CpuUse, part: CpuUse): CpuUse {
  if (total === null || part === null) return null;
  return {
    ownSeconds: total.ownSeconds + part.ownSeconds,
    othersSeconds: total.othersSeconds + part.othersSeconds,
    stealSeconds: total.stealSeconds + part.stealSeconds,
  };
}

const ZERO_CPU: CpuUse = { ownSeconds: 0, othersSeconds: 0, stealSeconds: 0 };

async function measureThroughput(options: {
  rowsPerBatch: number;
  batches: number;
  countStatements: boolean;
  /** Builds batch `n` (n = -1 is the warm-up): the gzipped push body and the ceiling statement for the same rows. */
  prepare(n: number): { body: Buffer; mutations: number; ceiling: () => Promise<void> };
  outbox: LaneOutbox;
  session: Session;
}): Promise<ThroughputResult> {
  const { rowsPerBatch, batches, outbox, session } = options;
  const pushMs: number[] = [];
  const ceilingMs: number[] = [];
  let requestBytes = 0;
  let cpu = ZERO_CPU;
  let statements = 0;
  for (let n = -1; n < batches; n++) {
    const batch = options.prepare(n);
    requestBytes = batch.body.length;

    const ceilingStarted = performance.now();
    await batch.ceiling();
    const ceilingElapsed = performance.now() - ceilingStarted;
    await yieldToEventLoop();

    const counter = options.countStatements ? countPgStatements() : null;
    const cpuAtStart = sampleCpu();
    let pushed;
    try {
      pushed = await push(session, batch.body);
    } finally {
      counter?.restore();
    }
    const { ms, response } = pushed;
    const used = cpuSince(cpuAtStart);
    if (counter !== null && n >= 0) statements += counter.read();
    expectAllOk(response, outbox, batch.mutations);
    await yieldToEventLoop();
    if (n < 0) continue; // warm-up
    pushMs.push(ms);
    ceilingMs.push(ceilingElapsed);
    cpu = addCpu(cpu, used);
  }
  const perSecond = pushMs.map((ms) => rowsPerBatch / (ms / 1000));
  const ceilingPerSecond = ceilingMs.map((ms) => rowsPerBatch / (ms / 1000));
  const medianPerSecond = median(perSecond);
  const medianCeilingPerSecond = median(ceilingPerSecond);
  return {
    rowsPerBatch,
    pushMs,
    perSecond,
    medianPerSecond,
    ceilingMs,
    ceilingPerSecond,
    medianCeilingPerSecond,
    ratio: medianPerSecond / medianCeilingPerSecond,
    requestBytes,
    statementsPerRow:
      options.countStatements && statements > 0 ? statements / (rowsPerBatch * batches) : null,
    cpu,
  };
}

export function triggerArgs(n: number): MutatorArgs<'incident.trigger@1'> {
  return {
    id: newId(),
    code: `B${String(n).padStart(5, '0')}`,
    trigger: 'panic_button',
    triggeredAt: Date.now(),
  };
}

async function countCommitted(db: Db, userId: UserId): Promise<PushResult['committed']> {
  const [mood] = await db.select({ n: count() }).from(moodEntries).where(eq(moodEntries.userId, userId));
  const [samples] = await db
    .select({ n: count() })
    .from(sensorReadings)
    .where(eq(sensorReadings.userId, userId));
  const [incidents] = await db
    .select({ n: count() })
    .from(emergencyIncidents)
    .where(and(eq(emergencyIncidents.userId, userId), eq(emergencyIncidents.status, 'active')));
  return { moodEntries: mood?.n ?? 0, sensorReadings: samples?.n ?? 0, incidents: incidents?.n ?? 0 };
}

export async function benchPush(target: BenchTarget, plan: PushPlan): Promise<PushResult> {
  const started = performance.now();
  const cpuAtStart = sampleCpu();
  const { db } = target.database;
  const app = await startServer(target);
  try {
    const session = await signUp(app);
    const phone = new LaneOutbox('user');
    const watch = new LaneOutbox('bulk');
    const otherPhone = new LaneOutbox('critical');
    const random = seededRandom(7);
    let moodCount = 0;
    let ceilingVersion = 1_000_000;

    const mood = await measureThroughput({
      rowsPerBatch: plan.moodBatch,
      batches: plan.batches,
      countStatements: target.database.kind === 'postgres',
      outbox: phone,
      session,
      prepare() {
        const pushed = moodBatch(plan.moodBatch, moodCount);
        const ceilingRows = moodBatch(plan.moodBatch, moodCount);
        moodCount += plan.moodBatch;
        const firstVersion = ceilingVersion;
        ceilingVersion += plan.moodBatch;
        return {
          body: phone.next(pushed.map((args) => ({ name: 'mood.upsert@1', args }))),
          mutations: pushed.length,
          ceiling: () => insertMoodRows(db, session.userId, ceilingRows, firstVersion, phone.clientId),
        };
      },
    });

    let sampleIndex = 0;
    const samples = await measureThroughput({
      rowsPerBatch: plan.samplesPerMutation,
      batches: plan.batches,
      countStatements: target.database.kind === 'postgres',
      outbox: watch,
      session,
      prepare() {
        const { args, sameRowsFreshIds } = sampleBatch(random, sampleIndex, plan.samplesPerMutation);
        sampleIndex += plan.samplesPerMutation;
        return {
          body: watch.next([{ name: 'samples.append@2', args }]),
          mutations: 1,
          ceiling: () => unnestAppend.append(db, session.userId, sameRowsFreshIds),
        };
      },
    });

    // An SOS from a second device, alone: the critical lane's own cost (warm-up first).
    let triggers = 0;
    const alone: number[] = [];
    for (let n = -1; n < plan.triggerTries; n++) {
      const body = otherPhone.next([{ name: 'incident.trigger@1', args: triggerArgs(triggers++) }]);
      const { ms, response } = await push(session, body);
      expectAllOk(response, otherPhone, 1);
      if (n >= 0) alone.push(ms);
      await yieldToEventLoop();
    }

    // The same SOS arriving while the first device's MOOD_BATCH push is in flight, at offsets spread evenly over
    // one batch's duration. Latency counts from the moment it was due, not from when the event loop let it go.
    const batchMs = median(mood.pushMs);
    const during: number[] = [];
    const offsetsMs: number[] = [];
    const dispatchDelayMs: number[] = [];
    const userBatchMs: number[] = [];
    let answeredAfterUserBatch = 0;
    for (let n = 0; n < plan.triggerTries; n++) {
      const userBody = phone.next(
        moodBatch(plan.moodBatch, moodCount).map((args) => ({ name: 'mood.upsert@1' as const, args })),
      );
      moodCount += plan.moodBatch;
      const userSeq = phone.lastSeq;
      const triggerBody = otherPhone.next([{ name: 'incident.trigger@1', args: triggerArgs(triggers++) }]);
      const triggerSeq = otherPhone.lastSeq;
      const offset = ((n + 0.5) / plan.triggerTries) * batchMs;

      const t0 = performance.now();
      let userDoneAt = Number.POSITIVE_INFINITY;
      const userPush = push(session, userBody).then((result) => {
        userDoneAt = performance.now();
        return result;
      });
      const triggerPush = new Promise<void>((resolve) => setTimeout(resolve, offset)).then(async () => {
        const dispatchedAt = performance.now();
        const result = await push(session, triggerBody);
        return { ...result, dispatchedAt, doneAt: performance.now() };
      });
      const [user, trigger] = await Promise.all([userPush, triggerPush]);
      if (user.response.lastSeq !== userSeq || user.response.results.some((r) => r.status !== 'ok')) {
        throw new Error(`concurrent user push: not every mutation ok (lastSeq ${user.response.lastSeq})`);
      }
      if (trigger.response.lastSeq !== triggerSeq || trigger.response.results[0]?.status !== 'ok') {
        throw new Error(`concurrent trigger: not ok (lastSeq ${trigger.response.lastSeq})`);
      }
      offsetsMs.push(offset);
      dispatchDelayMs.push(trigger.dispatchedAt - (t0 + offset));
      during.push(trigger.doneAt - (t0 + offset));
      userBatchMs.push(user.ms);
      if (trigger.doneAt > userDoneAt) answeredAfterUserBatch += 1;
      await yieldToEventLoop();
    }

    const committed = await countCommitted(db, session.userId);
    const expected = {
      moodEntries: moodCount * 2 - plan.triggerTries * plan.moodBatch, // pushed + ceiling rows (no ceiling in 3)
      sensorReadings: (plan.batches + 1) * plan.samplesPerMutation * 2,
      incidents: triggers,
    };
    if (JSON.stringify(committed) !== JSON.stringify(expected)) {
      throw new Error(`committed ${JSON.stringify(committed)}, expected ${JSON.stringify(expected)}`);
    }

    return {
      target: target.name,
      serverVersion: target.serverVersion,
      seconds: (performance.now() - started) / 1000,
      cpu: cpuSince(cpuAtStart),
      mood,
      samples,
      trigger: {
        alone: latencyStats(alone),
        duringUserBatch: {
          ...latencyStats(during),
          offsetsMs,
          dispatchDelayMs,
          userBatchMs,
          answeredAfterUserBatch,
        },
      },
      committed,
    };
  } finally {
    await app.close();
  }
}
