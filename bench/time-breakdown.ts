/**
 * Where the time of one 10,000-row unnest append goes: the same statement against tables that add one cost at a
 * time (no table at all → bare heap → primary key → secondary indexes → foreign key → sensor_readings itself),
 * plus the columnar time encoding of docs/sync-design.md (`t0` + integer `dt[]` instead of a timestamptz[] array).
 * This is what explains a gap to a peer figure measured on a simpler table. Each step is a median of REPS
 * batches into a fresh table, which is dropped afterwards.
 */
import { seededRandom } from '@vitalwatch/schema/seeded-random';
import { performance } from 'node:perf_hooks';
import { sql, type SQL } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { sensorReadings } from '@vitalwatch/schema/db/tables';
import type { Db } from '@vitalwatch/sync-server/db/database';
import { yieldToEventLoop } from './event-loop.ts';
import { truncateReadings } from './append-bench.ts';
import { DAY_MS, makeBatch, SAMPLES_PER_DAY, type SensorBatch } from './sensor-samples.ts';
import { median } from './stats.ts';

export type BreakdownStep = { step: string; msPerBatch: number; rowsPerSecond: number };

const SCRATCH = 'bench_breakdown';
const COLUMNS =
  'id uuid not null, user_id uuid not null, recorded_at timestamptz not null, kind smallint not null, value real not null';

type Step = { step: string; ddl: string[] | null; statement: (userId: UserId, batch: SensorBatch) => SQL };

function isoTimes(batch: SensorBatch): string[] {
  return batch.recordedAtMs.map((ms) => new Date(ms).toISOString());
}

/** Millisecond offsets from the first sample: what a device sends in the columnar bulk lane. */
function offsets(batch: SensorBatch): { t0: string; dt: number[] } {
  const first = batch.recordedAtMs[0] ?? 0;
  return { t0: new Date(first).toISOString(), dt: batch.recordedAtMs.map((ms) => ms - first) };
}

function arrays(batch: SensorBatch, recordedAt: SQL): SQL {
  return sql`unnest(${sql.param(batch.ids)}::uuid[], ${recordedAt}, ${sql.param(batch.kinds)}::smallint[], ${sql.param(batch.values)}::real[])
    as u(id, recorded_at, kind, value)`;
}

function insertInto(table: SQL, userId: UserId, batch: SensorBatch): SQL {
  return sql`insert into ${table} (id, user_id, recorded_at, kind, value)
    select u.id, ${userId}::uuid, u.recorded_at, u.kind, u.value
    from ${arrays(batch, sql`${sql.param(isoTimes(batch))}::timestamptz[]`)} on conflict do nothing`;
}

function insertColumnar(table: SQL, userId: UserId, batch: SensorBatch): SQL {
  const { t0, dt } = offsets(batch);
  return sql`insert into ${table} (id, user_id, recorded_at, kind, value)
    select u.id, ${userId}::uuid, ${t0}::timestamptz + u.recorded_at * interval '1 millisecond', u.kind, u.value
    from ${arrays(batch, sql`${sql.param(dt)}::int4[]`)} on conflict do nothing`;
}

const scratch = sql.raw(SCRATCH);
const create = `create table ${SCRATCH} (${COLUMNS})`;
const primaryKey = `alter table ${SCRATCH} add primary key (id)`;
const indexes = [
  `create index on ${SCRATCH} (user_id, recorded_at)`,
  `create index on ${SCRATCH} using brin (recorded_at)`,
];
const foreignKey = `alter table ${SCRATCH} add foreign key (user_id) references users (id) on delete cascade`;

const STEPS: Step[] = [
  {
    step: 'parameters only: select count(*) from unnest(…) (serialize, send, parse 4 arrays)',
    ddl: null,
    statement: (_, batch) =>
      sql`select count(*) from ${arrays(batch, sql`${sql.param(isoTimes(batch))}::timestamptz[]`)}`,
  },
  {
    step: 'parameters only, columnar time (t0 + int4[] dt)',
    ddl: null,
    statement: (_, batch) =>
      sql`select count(*) from ${arrays(batch, sql`${sql.param(offsets(batch).dt)}::int4[]`)}`,
  },
  {
    step: 'insert into a bare heap (no key, no index, no FK)',
    ddl: [create],
    statement: (u, b) => insertInto(scratch, u, b),
  },
  { step: '+ primary key (uuid)', ddl: [create, primaryKey], statement: (u, b) => insertInto(scratch, u, b) },
  {
    step: '+ (user_id, recorded_at) btree + BRIN',
    ddl: [create, primaryKey, ...indexes],
    statement: (u, b) => insertInto(scratch, u, b),
  },
  {
    step: '+ FK user_id → users (per-row RI check)',
    ddl: [create, primaryKey, ...indexes, foreignKey],
    statement: (u, b) => insertInto(scratch, u, b),
  },
  {
    step: 'sensor_readings itself (+ CHECK on kind)',
    ddl: [],
    statement: (u, b) => insertInto(sql`${sensorReadings}`, u, b),
  },
  {
    step: 'sensor_readings, columnar time (t0 + int4[] dt)',
    ddl: [],
    statement: (u, b) => insertColumnar(sql`${sensorReadings}`, u, b),
  },
];

export async function benchTimeBreakdown(
  db: Db,
  userId: UserId,
  options: { batchSize: number; reps: number; streamStartMs: number },
): Promise<BreakdownStep[]> {
  const { batchSize, reps, streamStartMs } = options;
  const random = seededRandom(7);
  let nextIndex = 0;
  const results: BreakdownStep[] = [];
  try {
    for (const step of STEPS) {
      await db.execute(sql.raw(`drop table if exists ${SCRATCH}`));
      await truncateReadings(db);
      for (const statement of step.ddl ?? []) await db.execute(sql.raw(statement));
      const times: number[] = [];
      for (let rep = 0; rep <= reps; rep++) {
        await yieldToEventLoop();
        const batch = makeBatch(random, streamStartMs, DAY_MS / SAMPLES_PER_DAY, nextIndex, batchSize);
        nextIndex += batchSize;
        const started = performance.now();
        await db.execute(step.statement(userId, batch));
        // The first batch into each fresh table is a warm-up.
        if (rep > 0) times.push(performance.now() - started);
      }
      const ms = median(times);
      results.push({ step: step.step, msPerBatch: ms, rowsPerSecond: batchSize / (ms / 1000) });
    }
  } finally {
    await db.execute(sql.raw(`drop table if exists ${SCRATCH}`));
    await truncateReadings(db);
  }
  return results;
}
