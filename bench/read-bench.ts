/**
 * Per-user time-range read: the last 24 h (and, for scale, the last 1 h) of one user's heart-rate samples in a
 * table that holds ten users' streams, loaded interleaved the way concurrent uploads arrive. The query is the
 * drizzle query a chart endpoint would run, timed end to end (rows decoded into objects); EXPLAIN must show the
 * (user_id, recorded_at) index.
 */
import { seededRandom } from '@vitalwatch/schema/seeded-random';
import { performance } from 'node:perf_hooks';
import { and, asc, eq, gte, sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { SENSOR_KINDS } from '@vitalwatch/schema/db/safety';
import { sensorReadings } from '@vitalwatch/schema/db/tables';
import type { Db } from '@vitalwatch/sync-server/db/database';
import { unnestAppend } from './append-methods.ts';
import { measureTableSize, truncateReadings, type TableSize } from './append-bench.ts';
import { DAY_MS, makeBatch, SAMPLES_PER_DAY } from './sensor-samples.ts';
import { yieldToEventLoop } from './event-loop.ts';
import { queryRows } from '@vitalwatch/sync-server/db/query-rows';
import { median, percentile } from './stats.ts';

export const INDEX_NAME = 'sensor_readings_user_recorded_idx';

export type ReadWindow = {
  label: string;
  windowMs: number;
  expectedRows: number;
  latenciesMs: number[];
  medianMs: number;
  p95Ms: number;
  plan: string;
  usesIndex: boolean;
};

export type ReadResult = {
  users: number;
  rowsPerUser: number;
  loadSeconds: number;
  loadRowsPerSecond: number;
  size: TableSize;
  windows: ReadWindow[];
};

export async function benchRead(
  db: Db,
  userIds: readonly UserId[],
  options: { rowsPerUser: number; chunkSize: number; queryRuns: number; streamStartMs: number },
): Promise<ReadResult> {
  const { rowsPerUser, chunkSize, queryRuns, streamStartMs } = options;
  const intervalMs = DAY_MS / SAMPLES_PER_DAY;
  const streamEndMs = streamStartMs + Math.round((rowsPerUser - 1) * intervalMs);
  const target = userIds[Math.floor(userIds.length / 2)];
  if (target === undefined) throw new Error('no users');

  await truncateReadings(db);
  const windows = [
    { label: 'last 24 h', windowMs: DAY_MS, expectedRows: 0 },
    { label: 'last 1 h', windowMs: 3_600_000, expectedRows: 0 },
  ];
  const randoms = userIds.map((_, i) => seededRandom(1000 + i));
  const loadStarted = performance.now();
  for (let first = 0; first < rowsPerUser; first += chunkSize) {
    const size = Math.min(chunkSize, rowsPerUser - first);
    for (const [u, userId] of userIds.entries()) {
      // Each user's stream is offset by a few seconds so timestamps of different users do not coincide.
      const batch = makeBatch(randoms[u] ?? Math.random, streamStartMs + u * 3_000, intervalMs, first, size);
      if (userId === target) {
        for (const window of windows) {
          const since = streamEndMs - window.windowMs;
          batch.recordedAtMs.forEach((ms, i) => {
            if (ms >= since && batch.kinds[i] === SENSOR_KINDS.heart_rate_bpm) window.expectedRows++;
          });
        }
      }
      await unnestAppend.append(db, userId, batch);
      await yieldToEventLoop();
    }
  }
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  await db.execute(sql`analyze ${sensorReadings}`);
  const size = await measureTableSize(db);

  const results: ReadWindow[] = [];
  for (const window of windows) {
    const since = new Date(streamEndMs - window.windowMs);
    const query = () =>
      db
        .select({ recordedAt: sensorReadings.recordedAt, value: sensorReadings.value })
        .from(sensorReadings)
        .where(
          and(
            eq(sensorReadings.userId, target),
            eq(sensorReadings.kind, SENSOR_KINDS.heart_rate_bpm),
            gte(sensorReadings.recordedAt, since),
          ),
        )
        .orderBy(asc(sensorReadings.recordedAt));

    const explained = await queryRows<Record<string, unknown>>(db, sql`explain ${query()}`);
    const plan = explained.map((row) => String(row['QUERY PLAN'] ?? Object.values(row)[0])).join('\n');

    for (let i = 0; i < 3; i++) await query(); // warm-up
    const latencies: number[] = [];
    for (let i = 0; i < queryRuns; i++) {
      await yieldToEventLoop();
      const started = performance.now();
      const rows = await query();
      latencies.push(performance.now() - started);
      if (rows.length !== window.expectedRows) {
        throw new Error(`${window.label}: expected ${window.expectedRows} rows, got ${rows.length}`);
      }
    }
    results.push({
      ...window,
      latenciesMs: latencies,
      medianMs: median(latencies),
      p95Ms: percentile(latencies, 95),
      plan,
      usesIndex: plan.includes(INDEX_NAME),
    });
  }

  return {
    users: userIds.length,
    rowsPerUser,
    loadSeconds,
    loadRowsPerSecond: (rowsPerUser * userIds.length) / loadSeconds,
    size,
    windows: results,
  };
}
