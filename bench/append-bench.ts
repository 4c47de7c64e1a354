/**
 * Bulk append of one user's samples: for each batch size and method, RUNS runs of ROWS_PER_RUN fresh rows (one
 * statement per batch, autocommit, so each batch is its own transaction as in a push), each followed by the same
 * batches again (all duplicates: the cost of ON CONFLICT DO NOTHING when a device retries an upload).
 * The table is truncated between combinations so every bytes-per-row figure is that combination's own.
 */
import { seededRandom } from '@vitalwatch/schema/seeded-random';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { sensorReadings } from '@vitalwatch/schema/db/tables';
import type { Db } from '@vitalwatch/sync-server/db/database';
import type { AppendMethod, AppendMethodName } from './append-methods.ts';
import { DAY_MS, makeBatch, SAMPLES_PER_DAY, type SensorBatch } from './sensor-samples.ts';
import { yieldToEventLoop } from './event-loop.ts';
import { queryRows } from '@vitalwatch/sync-server/db/query-rows';
import { median } from './stats.ts';

export type AppendResult = {
  method: AppendMethodName;
  batchSize: number;
  runs: number;
  rowsPerRun: number;
  /** Fresh rows per second, one figure per run. */
  freshRowsPerSecond: number[];
  /** Rows per second re-inserting the same run (every row a duplicate, nothing written). */
  duplicateRowsPerSecond: number[];
  medianFreshRowsPerSecond: number;
  medianDuplicateRowsPerSecond: number;
  size: TableSize;
};

export type TableSize = {
  rows: number;
  totalBytes: number;
  heapBytes: number;
  indexBytes: number;
  bytesPerRow: number;
};

export async function measureTableSize(db: Db): Promise<TableSize> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`
    select count(*)::float8 as rows,
           pg_total_relation_size('sensor_readings')::float8 as total,
           pg_relation_size('sensor_readings')::float8 as heap,
           pg_indexes_size('sensor_readings')::float8 as indexes
    from ${sensorReadings}`,
  );
  const row = rows[0] ?? {};
  const count = Number(row['rows']);
  const totalBytes = Number(row['total']);
  return {
    rows: count,
    totalBytes,
    heapBytes: Number(row['heap']),
    indexBytes: Number(row['indexes']),
    bytesPerRow: count > 0 ? totalBytes / count : Number.NaN,
  };
}

export async function truncateReadings(db: Db): Promise<void> {
  await db.execute(sql`truncate ${sensorReadings}`);
}

async function appendAll(
  db: Db,
  method: AppendMethod,
  userId: UserId,
  batches: SensorBatch[],
): Promise<number> {
  const started = performance.now();
  for (const batch of batches) await method.append(db, userId, batch);
  const elapsed = performance.now() - started;
  await yieldToEventLoop();
  return elapsed;
}

export async function benchAppend(
  db: Db,
  method: AppendMethod,
  userId: UserId,
  options: { batchSize: number; rowsPerRun: number; runs: number; streamStartMs: number },
): Promise<AppendResult> {
  const { batchSize, rowsPerRun, runs, streamStartMs } = options;
  if (rowsPerRun % batchSize !== 0)
    throw new Error(`rowsPerRun ${rowsPerRun} is not a multiple of ${batchSize}`);
  const intervalMs = DAY_MS / SAMPLES_PER_DAY;
  const random = seededRandom(batchSize);
  let nextIndex = 0;
  const nextBatches = () => {
    const batches: SensorBatch[] = [];
    for (let i = 0; i < rowsPerRun / batchSize; i++) {
      batches.push(makeBatch(random, streamStartMs, intervalMs, nextIndex, batchSize));
      nextIndex += batchSize;
    }
    return batches;
  };

  await truncateReadings(db);
  // Warm-up (JIT, plan and catalog caches, the pool's connections): one uncounted run, then an empty table.
  await appendAll(db, method, userId, nextBatches());
  await truncateReadings(db);
  nextIndex = 0;

  const fresh: number[] = [];
  const duplicate: number[] = [];
  for (let run = 0; run < runs; run++) {
    const batches = nextBatches();
    fresh.push(rowsPerRun / ((await appendAll(db, method, userId, batches)) / 1000));
    duplicate.push(rowsPerRun / ((await appendAll(db, method, userId, batches)) / 1000));
  }

  const size = await measureTableSize(db);
  if (size.rows !== rowsPerRun * runs) {
    throw new Error(`${method.name}/${batchSize}: expected ${rowsPerRun * runs} rows, found ${size.rows}`);
  }
  return {
    method: method.name,
    batchSize,
    runs,
    rowsPerRun,
    freshRowsPerSecond: fresh,
    duplicateRowsPerSecond: duplicate,
    medianFreshRowsPerSecond: median(fresh),
    medianDuplicateRowsPerSecond: median(duplicate),
    size,
  };
}
