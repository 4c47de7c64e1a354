/**
 * `pnpm bench`: sensor_readings bulk append and per-user range reads on embedded PGlite (memory and disk) and
 * on real Postgres, then push throughput through the real sync server (push-bench.ts) on PGlite memory and
 * Postgres, in one run, printed as markdown tables and recorded in results/<start time>.json (and latest.json).
 *
 * Method (README.md): after an uncounted warm-up, per target a fresh migrated database with ten provisioned
 * users; for batch sizes 1,000 and 10,000 and both statements (unnest, drizzle multi-row VALUES), RUNS runs of
 * ROWS_PER_RUN fresh rows of one user, each followed by the same rows again (all duplicates); medians over
 * runs. Then the time breakdown of one unnest batch (time-breakdown.ts), then ten users' interleaved streams
 * and the chart query. Then, on two more fresh databases, `POST /sync/push` through `buildApp` with `app.inject`:
 * mood upserts, sample appends, each against its raw INSERT ceiling, and an SOS behind a user batch. Every
 * temporary database and directory is removed, also on Ctrl-C and when the watchdog fires.
 *
 * Then our sync and PouchDB side by side through the same shaping proxy (sync-compare-bench.ts), per link profile.
 *
 * Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres; an admin URL: the bench
 * creates and drops its own database), BENCH_TIMEOUT_S (default 1,200), BENCH_ONLY (a comma-separated list of
 * sections to run: `sensor`, `push`, `sos-beside-upload`, `sync-compare`; default all; `sync-incident`, only when named: the sync
 * comparison's incident scenario alone, ours only), BENCH_TARGETS (the SOS-beside-upload section's databases:
 * `pglite-memory`, `pglite-disk`, `postgres`; default all) and BENCH_BULK_STEP_SAMPLES (its bulk step; default the
 * server's).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { provisionUser } from '@vitalwatch/sync-server/auth/identity';
import { benchAppend, type AppendResult } from './append-bench.ts';
import { drizzleValuesAppend, unnestAppend, type AppendMethodName } from './append-methods.ts';
import {
  Cleanups,
  openPgliteDisk,
  openPgliteMemory,
  openPostgres,
  type BenchTarget,
  type TargetName,
} from './bench-targets.ts';
import {
  cpuSince,
  formatCpuUse,
  loadAverage,
  readMachineInfo,
  sampleCpu,
  type CpuUse,
} from './machine-info.ts';
import { benchPush, PUSH_TARGETS, type PushPlan, type PushResult } from './push-bench.ts';
import {
  benchSosBesideUpload,
  SOS_BESIDE_UPLOAD_TARGET_MS,
  type SosBesideUploadPlan,
  type SosBesideUploadResult,
} from './sos-beside-upload-bench.ts';
import { benchRead, INDEX_NAME, type ReadResult } from './read-bench.ts';
import { pouchVersions } from './pouch-peer.ts';
import {
  benchSyncCompare,
  benchSyncIncident,
  type ComparePlan,
  type CompareResult,
  type IncidentRun,
} from './sync-compare-bench.ts';
import { printSyncCompare, printSyncIncident, SYNC_TARGETS } from './sync-compare-report.ts';
import { DAY_MS, SAMPLES_PER_DAY } from './sensor-samples.ts';
import { benchTimeBreakdown, type BreakdownStep } from './time-breakdown.ts';
import { formatBytes, formatMs, formatRate, formatRatio, markdownTable, median, sum } from './stats.ts';

const BATCH_SIZES = [1_000, 10_000] as const;
const METHODS = [unnestAppend, drizzleValuesAppend] as const;
const ROWS_PER_RUN = 10_000;
const RUNS = 5;
const READ_USERS = 10;
const READ_ROWS_PER_USER = 60_000; // 28.8 h at 50,000 samples a day
const READ_CHUNK = 5_000;
const READ_QUERY_RUNS = 21;
const BREAKDOWN_BATCH = 10_000;
const BREAKDOWN_REPS = 5;
/** Push section: 500 moods per user-lane push, one 10,000-sample mutation per bulk push, 5 of each after a warm-up. */
const PUSH_PLAN: PushPlan = { moodBatch: 500, samplesPerMutation: 10_000, batches: 5, triggerTries: 20 };
/** Another account's SOS every 200 ms while one account uploads its day's quota from two devices at once. */
const SOS_BESIDE_UPLOAD_PLAN: SosBesideUploadPlan = {
  sosAlone: 20,
  sosEveryMs: 200,
  uploadDevices: 2,
  ...(process.env['BENCH_BULK_STEP_SAMPLES'] && {
    stepSamples: Number(process.env['BENCH_BULK_STEP_SAMPLES']),
  }),
};
/**
 * Sync comparison, one plan per link profile, sized to keep the whole run near 15 minutes: PouchDB needs ~400
 * requests per 10,000 docs (~3 min at 300 ms / 750 kbit/s). So PouchDB's samples scenario carries 2,000 of our
 * 10,000 samples in (a) (bytes per sample do not depend on the count), and profile (b) carries 1,000 records
 * (10,000 would take over 5 minutes per PouchDB scenario at 600 ms / 250 kbit/s) and runs ours on one database
 * (Postgres, or PGlite when Postgres is unreachable). Its incident backlog of 4,000 samples is four
 * samples.append entries (a whole bulk push before bulk pushes were sized by time). 20 and 10 incident tries: the
 * p95 of 8 or 4 is their maximum.
 */
const COMPARE_PLANS: ReadonlyArray<ComparePlan & { oneDatabase: boolean }> = [
  {
    profile: { name: '300 ms RTT, 750 kbit/s', rttMs: 300, kbitPerSecond: 750, lossRate: 0 },
    records: 10_000,
    samples: 10_000,
    pouchSamples: 2_000,
    incidentBacklog: 10_000,
    incidentTries: 20,
    pouchIncidents: 5,
    oneDatabase: false,
  },
  {
    profile: { name: '600 ms RTT, 250 kbit/s, 2% loss', rttMs: 600, kbitPerSecond: 250, lossRate: 0.02 },
    records: 1_000,
    samples: 1_000,
    pouchSamples: 1_000,
    incidentBacklog: 4_000,
    incidentTries: 10,
    pouchIncidents: 3,
    oneDatabase: true,
  },
];
const SECTIONS = ['sensor', 'push', 'sos-beside-upload', 'sync-compare', 'sync-incident'] as const;
type Section = (typeof SECTIONS)[number];
/** Sections that run only when BENCH_ONLY names them (a part of another section). */
const ON_REQUEST: readonly Section[] = ['sync-incident'];
/** docs/platform-facts.md: PGlite 0.5 bulk insert via unnest, ~160k rows/s into a table without keys or indexes. */
const PEER_PGLITE_UNNEST_ROWS_PER_SECOND = 160_000;
/** A fixed start so every run inserts the same timestamps. */
const STREAM_START_MS = Date.UTC(2025, 0, 1);

const TARGET_TITLES: Record<TargetName, string> = {
  'pglite-memory': 'PGlite memory',
  'pglite-disk': 'PGlite disk',
  postgres: 'Postgres',
};

type TargetResult = {
  target: TargetName;
  serverVersion: string;
  location: string;
  settings: string;
  seconds: number;
  /** Contention check: CPU used by this process and by everything else while this target ran. */
  cpu: CpuUse;
  appends: AppendResult[];
  breakdown: BreakdownStep[];
  read: ReadResult;
};

const adminUrl = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const timeoutSeconds = Number(process.env['BENCH_TIMEOUT_S'] ?? 1_200);
const only = (process.env['BENCH_ONLY'] ?? '')
  .split(',')
  .map((part) => part.trim())
  .filter((part) => part !== '');
/** BENCH_TARGETS: the SOS-beside-upload section's databases (comma-separated target names; default all three). */
const onlyTargets = (process.env['BENCH_TARGETS'] ?? '')
  .split(',')
  .map((part) => part.trim())
  .filter((part) => part !== '');
const unknownSections = only.filter((part) => !(SECTIONS as readonly string[]).includes(part));
if (unknownSections.length > 0) {
  console.error(
    `BENCH_ONLY: unknown section(s) ${unknownSections.join(', ')}; known: ${SECTIONS.join(', ')}`,
  );
  process.exit(2);
}
const runs = (section: Section) =>
  only.includes(section) || (only.length === 0 && !ON_REQUEST.includes(section));
const cleanups = new Cleanups();
let aborting: Promise<void> | null = null;

/** A second signal while cleaning up waits for the same cleanup instead of exiting past it. */
async function abort(reason: string, exitCode: number): Promise<never> {
  if (aborting === null) {
    console.error(`\n${reason}: removing temporary databases and directories`);
    aborting = cleanups.runAll();
  }
  await aborting;
  process.exit(exitCode);
}

process.on('SIGINT', () => void abort('interrupted', 130));
process.on('SIGTERM', () => void abort('terminated', 143));
const watchdog = setTimeout(
  () => void abort(`watchdog: the bench ran longer than ${timeoutSeconds} s`, 1),
  timeoutSeconds * 1000,
);

function banner(lines: string[]): void {
  const width = Math.max(...lines.map((line) => line.length)) + 4;
  console.log(`\n${'!'.repeat(width)}`);
  for (const line of lines) console.log(`! ${line.padEnd(width - 4)} !`);
  console.log(`${'!'.repeat(width)}\n`);
}

async function provisionUsers(target: BenchTarget, count: number): Promise<UserId[]> {
  const userIds = Array.from({ length: count }, () => newId<UserId>());
  await target.database.db.transaction(async (tx) => {
    for (const [i, id] of userIds.entries()) {
      await provisionUser(tx, { id, email: `bench-${i}@example.invalid`, phone: null, passwordHash: null });
    }
  });
  return userIds;
}

/**
 * Without this throwaway round the first measured combination (PGlite memory, unnest, 1,000) came out ~25%
 * slower than the same work on PGlite disk a minute later: probably V8 optimising PGlite's WebAssembly (and our
 * JS) in the background after a baseline compile, which takes seconds on two busy cores.
 */
async function warmUpEngine(): Promise<number> {
  const started = performance.now();
  const target = await openPgliteMemory(cleanups);
  try {
    const [userId] = await provisionUsers(target, 1);
    if (userId === undefined) throw new Error('no users');
    for (const method of METHODS) {
      await benchAppend(target.database.db, method, userId, {
        batchSize: 1_000,
        rowsPerRun: ROWS_PER_RUN,
        runs: 2,
        streamStartMs: STREAM_START_MS,
      });
    }
  } finally {
    await target.close();
  }
  return (performance.now() - started) / 1000;
}

async function benchTarget(target: BenchTarget): Promise<TargetResult> {
  const started = performance.now();
  const cpuAtStart = sampleCpu();
  const { db } = target.database;
  console.log(
    `\n## ${TARGET_TITLES[target.name]}: ${target.serverVersion}\n   data: ${target.location}\n   settings: ${target.settings}`,
  );

  const userIds = await provisionUsers(target, READ_USERS);
  const writer = userIds[0];
  if (writer === undefined) throw new Error('no users');

  const appends: AppendResult[] = [];
  for (const batchSize of BATCH_SIZES) {
    for (const method of METHODS) {
      const result = await benchAppend(db, method, writer, {
        batchSize,
        rowsPerRun: ROWS_PER_RUN,
        runs: RUNS,
        streamStartMs: STREAM_START_MS,
      });
      appends.push(result);
      console.log(
        `   append ${method.name.padEnd(14)} batch ${String(batchSize).padStart(6)}: ` +
          `fresh ${result.freshRowsPerSecond.map(formatRate).join(' ')} rows/s (median ${formatRate(result.medianFreshRowsPerSecond)}), ` +
          `duplicates median ${formatRate(result.medianDuplicateRowsPerSecond)} rows/s, ` +
          `${result.size.bytesPerRow.toFixed(1)} B/row`,
      );
    }
  }

  const breakdown = await benchTimeBreakdown(db, writer, {
    batchSize: BREAKDOWN_BATCH,
    reps: BREAKDOWN_REPS,
    streamStartMs: STREAM_START_MS,
  });
  for (const step of breakdown) {
    console.log(
      `   breakdown ${formatMs(step.msPerBatch).padStart(9)} ${formatRate(step.rowsPerSecond).padStart(7)} rows/s  ${step.step}`,
    );
  }

  const read = await benchRead(db, userIds, {
    rowsPerUser: READ_ROWS_PER_USER,
    chunkSize: READ_CHUNK,
    queryRuns: READ_QUERY_RUNS,
    streamStartMs: STREAM_START_MS,
  });
  console.log(
    `   read set: ${read.users} users × ${read.rowsPerUser} rows loaded in ${read.loadSeconds.toFixed(1)} s ` +
      `(${formatRate(read.loadRowsPerSecond)} rows/s, unnest, ${READ_CHUNK}-row batches), ${read.size.bytesPerRow.toFixed(1)} B/row`,
  );
  for (const window of read.windows) {
    console.log(
      `   read ${window.label}: ${window.expectedRows} rows, median ${formatMs(window.medianMs)}, p95 ${formatMs(window.p95Ms)}, ` +
        `index ${window.usesIndex ? 'used' : 'NOT USED'}`,
    );
  }
  const plan = read.windows[0]?.plan ?? '';
  console.log(`   EXPLAIN (last 24 h):\n${plan.replace(/^/gm, '     ')}`);
  if (read.windows.some((window) => !window.usesIndex)) {
    banner([`${TARGET_TITLES[target.name]}: the range read does not use ${INDEX_NAME}`]);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSince(cpuAtStart);
  console.log(`   ${formatCpuUse(cpu, seconds)}`);

  return {
    target: target.name,
    serverVersion: target.serverVersion,
    location: target.location,
    settings: target.settings,
    seconds,
    cpu,
    appends,
    breakdown,
    read,
  };
}

function find(
  result: TargetResult | undefined,
  method: AppendMethodName,
  batchSize: number,
): AppendResult | undefined {
  return result?.appends.find((append) => append.method === method && append.batchSize === batchSize);
}

function printSummary(results: TargetResult[], skipped: string | null): void {
  const byName = (name: TargetName) => results.find((result) => result.target === name);
  const memory = byName('pglite-memory');
  const disk = byName('pglite-disk');
  const postgres = byName('postgres');
  const targetColumns = (['pglite-memory', 'pglite-disk', 'postgres'] as const).map((name) => ({
    name,
    result: byName(name),
  }));
  const cell = (value: number | undefined, format: (value: number) => string) =>
    value === undefined ? (skipped === null ? 'n/a' : 'skipped') : format(value);
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? (skipped === null ? 'n/a' : 'skipped') : formatRatio(a / b);

  console.log('\n# Summary\n');
  console.log(
    `Fresh rows/s, median of ${RUNS} runs of ${ROWS_PER_RUN.toLocaleString('en')} rows (one user, one statement per batch, autocommit):\n`,
  );
  const appendRows: string[][] = [];
  for (const batchSize of BATCH_SIZES) {
    for (const method of METHODS) {
      const rates = targetColumns.map(
        ({ result }) => find(result, method.name, batchSize)?.medianFreshRowsPerSecond,
      );
      appendRows.push([
        method.name,
        batchSize.toLocaleString('en'),
        ...rates.map((rate) => cell(rate, formatRate)),
        ratio(rates[1], rates[0]),
        ratio(rates[0], rates[2]),
        ratio(rates[1], rates[2]),
      ]);
    }
  }
  console.log(
    markdownTable(
      [
        'method',
        'batch',
        'PGlite memory',
        'PGlite disk',
        'Postgres 15',
        'disk ÷ memory',
        'PGlite mem ÷ PG',
        'PGlite disk ÷ PG',
      ],
      appendRows,
    ),
  );

  console.log('\nunnest ÷ drizzle values (fresh rows/s):\n');
  console.log(
    markdownTable(
      ['batch', ...targetColumns.map(({ name }) => TARGET_TITLES[name])],
      BATCH_SIZES.map((batchSize) => [
        batchSize.toLocaleString('en'),
        ...targetColumns.map(({ result }) =>
          ratio(
            find(result, 'unnest', batchSize)?.medianFreshRowsPerSecond,
            find(result, 'drizzle-values', batchSize)?.medianFreshRowsPerSecond,
          ),
        ),
      ]),
    ),
  );

  console.log(
    '\nRe-insert of the same rows (all duplicates, ON CONFLICT DO NOTHING): rows/s, and time ÷ fresh insert time:\n',
  );
  const duplicateRows: string[][] = [];
  for (const batchSize of BATCH_SIZES) {
    for (const method of METHODS) {
      duplicateRows.push([
        method.name,
        batchSize.toLocaleString('en'),
        ...targetColumns.flatMap(({ result }) => {
          const append = find(result, method.name, batchSize);
          return [
            cell(append?.medianDuplicateRowsPerSecond, formatRate),
            ratio(append?.medianFreshRowsPerSecond, append?.medianDuplicateRowsPerSecond),
          ];
        }),
      ]);
    }
  }
  console.log(
    markdownTable(
      [
        'method',
        'batch',
        ...targetColumns.flatMap(({ name }) => [
          `${TARGET_TITLES[name]} dup rows/s`,
          `${TARGET_TITLES[name]} dup ÷ fresh time`,
        ]),
      ],
      duplicateRows,
    ),
  );

  console.log(
    `\nTable + index bytes per row (pg_total_relation_size ÷ count; heap / indexes) after each combination ` +
      `(${(RUNS * ROWS_PER_RUN).toLocaleString('en')} rows, one user), and for the read set ` +
      `(${(READ_USERS * READ_ROWS_PER_USER).toLocaleString('en')} rows, ${READ_USERS} users interleaved):\n`,
  );
  const sizeCell = (size: AppendResult['size'] | undefined) =>
    size === undefined
      ? skipped === null
        ? 'n/a'
        : 'skipped'
      : `${size.bytesPerRow.toFixed(1)} (${(size.heapBytes / size.rows).toFixed(1)} / ${(size.indexBytes / size.rows).toFixed(1)})`;
  const sizeRows: string[][] = [];
  for (const batchSize of BATCH_SIZES) {
    for (const method of METHODS) {
      sizeRows.push([
        `${method.name}, batch ${batchSize.toLocaleString('en')}`,
        ...targetColumns.map(({ result }) => sizeCell(find(result, method.name, batchSize)?.size)),
      ]);
    }
  }
  sizeRows.push([
    'read set (unnest, 10 users)',
    ...targetColumns.map(({ result }) => sizeCell(result?.read.size)),
  ]);
  console.log(
    markdownTable(['data', ...targetColumns.map(({ name }) => `${TARGET_TITLES[name]} B/row`)], sizeRows),
  );

  console.log(
    `\nPer-user range read (heart rate of 1 of ${READ_USERS} users, drizzle select … order by recorded_at), ` +
      `median / p95 of ${READ_QUERY_RUNS} runs:\n`,
  );
  const windowLabels = memory?.read.windows.map((window) => window.label) ?? [];
  console.log(
    markdownTable(
      [
        'window',
        'rows',
        ...targetColumns.map(({ name }) => TARGET_TITLES[name]),
        'PGlite mem ÷ PG',
        'index used',
      ],
      windowLabels.map((label) => {
        const windows = targetColumns.map(({ result }) =>
          result?.read.windows.find((window) => window.label === label),
        );
        return [
          label,
          String(windows.find((window) => window !== undefined)?.expectedRows ?? 'n/a'),
          ...windows.map((window) =>
            window === undefined
              ? skipped === null
                ? 'n/a'
                : 'skipped'
              : `${formatMs(window.medianMs)} / ${formatMs(window.p95Ms)}`,
          ),
          ratio(windows[0]?.medianMs, windows[2]?.medianMs),
          windows.map((window) => (window === undefined ? '–' : window.usesIndex ? 'yes' : 'NO')).join(' / '),
        ];
      }),
    ),
  );

  console.log(
    '\nPeer comparison: docs/platform-facts.md says PGlite bulk insert via unnest runs at ~160k rows/s here.\n',
  );
  const peerRows: string[][] = [];
  for (const result of [memory, disk]) {
    if (result === undefined) continue;
    for (const batchSize of BATCH_SIZES) {
      const ours = find(result, 'unnest', batchSize)?.medianFreshRowsPerSecond;
      peerRows.push([
        `${TARGET_TITLES[result.target]}, unnest, batch ${batchSize.toLocaleString('en')}`,
        cell(ours, formatRate),
        formatRate(PEER_PGLITE_UNNEST_ROWS_PER_SECOND),
        ratio(ours, PEER_PGLITE_UNNEST_ROWS_PER_SECOND),
      ]);
    }
  }
  console.log(markdownTable(['ours', 'rows/s', 'platform-facts', 'ours ÷ platform-facts'], peerRows));

  console.log(
    `\nWhere the time goes: one ${BREAKDOWN_BATCH.toLocaleString('en')}-row unnest batch, ms (rows/s), median of ${BREAKDOWN_REPS}, ` +
      'each step adding one cost to the one above:\n',
  );
  const steps = memory?.breakdown.map((step) => step.step) ?? [];
  console.log(
    markdownTable(
      ['step', ...targetColumns.map(({ name }) => TARGET_TITLES[name])],
      steps.map((label) => [
        label,
        ...targetColumns.map(({ result }) => {
          const step = result?.breakdown.find((candidate) => candidate.step === label);
          return step === undefined
            ? skipped === null
              ? 'n/a'
              : 'skipped'
            : `${formatMs(step.msPerBatch)} (${formatRate(step.rowsPerSecond)})`;
        }),
      ]),
    ),
  );

  console.log(
    `\nStorage at ${SAMPLES_PER_DAY.toLocaleString('en')} samples per user per day (read-set bytes/row, table + indexes, ` +
      'no TOAST, before any retention or compression):\n',
  );
  console.log(
    markdownTable(
      ['target', 'B/row', 'per user per day', 'per user per year', '1,000 users per year'],
      [memory, disk, postgres].flatMap((result) => {
        if (result === undefined) return [];
        const perRow = result.read.size.bytesPerRow;
        return [
          [
            TARGET_TITLES[result.target],
            perRow.toFixed(1),
            formatBytes(perRow * SAMPLES_PER_DAY),
            formatBytes(perRow * SAMPLES_PER_DAY * 365),
            formatBytes(perRow * SAMPLES_PER_DAY * 365 * 1000),
          ],
        ];
      }),
    ),
  );
}

function printPushProgress(result: PushResult): void {
  const { mood, samples, trigger } = result;
  const ms = (values: number[]) => values.map((value) => value.toFixed(0)).join(' ');
  console.log(
    `   mood.upsert@1 × ${mood.rowsPerBatch}/push: ${ms(mood.pushMs)} ms → median ${formatRate(mood.medianPerSecond)} mutations/s; ` +
      `ceiling (multi-row INSERT) ${ms(mood.ceilingMs)} ms → ${formatRate(mood.medianCeilingPerSecond)} rows/s; ` +
      `ratio ${formatRatio(mood.ratio)}; ${formatBytes(mood.requestBytes)} gzipped per push` +
      (mood.statementsPerRow === null
        ? ''
        : `; ${mood.statementsPerRow.toFixed(2)} SQL statements per mutation`),
  );
  console.log(`     CPU during the measured mood pushes: ${formatCpuUse(mood.cpu, sum(mood.pushMs) / 1000)}`);
  console.log(
    `   samples.append@2 × ${samples.rowsPerBatch}/push: ${ms(samples.pushMs)} ms → median ${formatRate(samples.medianPerSecond)} samples/s; ` +
      `ceiling (unnest) ${ms(samples.ceilingMs)} ms → ${formatRate(samples.medianCeilingPerSecond)} rows/s; ` +
      `ratio ${formatRatio(samples.ratio)}; ${formatBytes(samples.requestBytes)} gzipped per push` +
      (samples.statementsPerRow === null
        ? ''
        : `; ${(samples.statementsPerRow * samples.rowsPerBatch).toFixed(0)} SQL statements per push`),
  );
  console.log(
    `     CPU during the measured sample pushes: ${formatCpuUse(samples.cpu, sum(samples.pushMs) / 1000)}`,
  );
  const during = trigger.duringUserBatch;
  console.log(
    `   incident.trigger@1 alone: p50 ${formatMs(trigger.alone.p50Ms)}, p95 ${formatMs(trigger.alone.p95Ms)} (${trigger.alone.tries} tries); ` +
      `while a ${mood.rowsPerBatch}-mood push runs: p50 ${formatMs(during.p50Ms)}, p95 ${formatMs(during.p95Ms)}, max ${formatMs(during.maxMs)}, ` +
      `answered after the mood push in ${during.answeredAfterUserBatch}/${during.tries}, ` +
      `request left the event loop late by median ${formatMs(median(during.dispatchDelayMs))}, ` +
      `mood push median ${formatMs(median(during.userBatchMs))}`,
  );
  console.log(
    `   committed: ${result.committed.moodEntries} mood entries, ${result.committed.sensorReadings} samples, ` +
      `${result.committed.incidents} incidents (as expected)`,
  );
  console.log(`   ${formatCpuUse(result.cpu, result.seconds)}`);
}

function printPushSummary(results: PushResult[], skipped: string | null): void {
  const memory = results.find((result) => result.target === 'pglite-memory');
  const postgres = results.find((result) => result.target === 'postgres');
  const missing = skipped === null ? 'n/a' : 'skipped';
  const cells = (value: (result: PushResult) => string) => [
    memory === undefined ? missing : value(memory),
    postgres === undefined ? missing : value(postgres),
  ];
  const verdict = (value: (result: PushResult) => number, target: number) => {
    if (postgres === undefined) return missing;
    const ours = value(postgres);
    return ours >= target ? `yes (${formatRatio(ours / target)})` : `**no** (${formatRatio(ours / target)})`;
  };
  const during = (result: PushResult) => result.trigger.duringUserBatch;
  const rows: Array<[string, string[], string, string]> = [
    [
      `\`mood.upsert@1\`, ${PUSH_PLAN.moodBatch} new entries per push: mutations/s`,
      cells((r) => formatRate(r.mood.medianPerSecond)),
      `≥ ${PUSH_TARGETS.userMutationsPerSecond.toLocaleString('en')}`,
      verdict((r) => r.mood.medianPerSecond, PUSH_TARGETS.userMutationsPerSecond),
    ],
    [
      `ceiling: the same ${PUSH_PLAN.moodBatch} rows as one multi-row INSERT: rows/s`,
      cells((r) => formatRate(r.mood.medianCeilingPerSecond)),
      '',
      '',
    ],
    [
      'mood push ÷ ceiling',
      cells((r) => formatRatio(r.mood.ratio)),
      `≥ ${formatRatio(PUSH_TARGETS.ratioOfCeiling)}`,
      verdict((r) => r.mood.ratio, PUSH_TARGETS.ratioOfCeiling),
    ],
    [
      `\`samples.append@2\`, ${PUSH_PLAN.samplesPerMutation.toLocaleString('en')} samples per push: samples/s`,
      cells((r) => formatRate(r.samples.medianPerSecond)),
      `≥ ${PUSH_TARGETS.samplesPerSecond.toLocaleString('en')}`,
      verdict((r) => r.samples.medianPerSecond, PUSH_TARGETS.samplesPerSecond),
    ],
    [
      `ceiling: the same ${PUSH_PLAN.samplesPerMutation.toLocaleString('en')} samples, unnest: rows/s`,
      cells((r) => formatRate(r.samples.medianCeilingPerSecond)),
      '',
      '',
    ],
    [
      'samples push ÷ ceiling',
      cells((r) => formatRatio(r.samples.ratio)),
      `≥ ${formatRatio(PUSH_TARGETS.ratioOfCeiling)}`,
      verdict((r) => r.samples.ratio, PUSH_TARGETS.ratioOfCeiling),
    ],
    [
      'SQL statements per mood mutation / per samples push',
      cells((r) =>
        r.mood.statementsPerRow === null || r.samples.statementsPerRow === null
          ? 'not counted'
          : `${r.mood.statementsPerRow.toFixed(2)} / ${(r.samples.statementsPerRow * r.samples.rowsPerBatch).toFixed(0)}`,
      ),
      '',
      '',
    ],
    [
      '`incident.trigger@1` alone: p50 / p95',
      cells((r) => `${formatMs(r.trigger.alone.p50Ms)} / ${formatMs(r.trigger.alone.p95Ms)}`),
      '',
      '',
    ],
    [
      `\`incident.trigger@1\` arriving during a ${PUSH_PLAN.moodBatch}-mood push: p50 / p95 (max)`,
      cells(
        (r) => `${formatMs(during(r).p50Ms)} / ${formatMs(during(r).p95Ms)} (${formatMs(during(r).maxMs)})`,
      ),
      '',
      '',
    ],
    [
      `… answered after the mood push / the mood push's median time`,
      cells(
        (r) =>
          `${during(r).answeredAfterUserBatch}/${during(r).tries} / ${formatMs(median(during(r).userBatchMs))}`,
      ),
      '',
      '',
    ],
  ];
  console.log(
    `\nPush throughput through the real server (buildApp + app.inject, gzip, one user; median of ${PUSH_PLAN.batches} ` +
      `pushes after a warm-up; SOS latency over ${PUSH_PLAN.triggerTries} tries):\n`,
  );
  console.log(
    markdownTable(
      [
        'figure',
        'PGlite memory',
        'Postgres 15',
        'issue #3 target (Postgres)',
        'Postgres meets it? (ours ÷ target)',
      ],
      rows.map(([label, values, target, met]) => [label, ...values, target, met]),
    ),
  );
}

function printSosBesideUpload(results: SosBesideUploadResult[]): void {
  console.log(
    `\nAnother account's SOS (critical-lane incident.trigger@1, loopback HTTP) while one account pushes its daily ` +
      `maximum from ${SOS_BESIDE_UPLOAD_PLAN.uploadDevices} devices at once; an SOS every ${SOS_BESIDE_UPLOAD_PLAN.sosEveryMs} ms:\n`,
  );
  console.log(
    markdownTable(
      [
        'target',
        'SOS alone p50 / p95',
        'SOS during upload p50 / p95 (max, n)',
        `target p95 ≤ ${SOS_BESIDE_UPLOAD_TARGET_MS} ms`,
        'upload',
        'longest event-loop stall',
      ],
      results.map((r) => [
        TARGET_TITLES[r.target],
        `${formatMs(r.alone.p50Ms)} / ${formatMs(r.alone.p95Ms)}`,
        `${formatMs(r.duringUpload.p50Ms)} / ${formatMs(r.duringUpload.p95Ms)} (${formatMs(r.duringUpload.maxMs)}, ${r.duringUpload.tries})`,
        r.duringUpload.p95Ms <= SOS_BESIDE_UPLOAD_TARGET_MS ? 'met' : '**missed**',
        `${r.upload.samples.toLocaleString('en')} samples, ${r.upload.pushes} pushes, ${r.upload.seconds.toFixed(1)} s (${formatRate(r.upload.samplesPerSecond)}/s, steps of ${r.stepSamples.toLocaleString('en')})`,
        formatMs(r.eventLoopMaxMs),
      ]),
    ),
  );
}

function printContention(results: TargetResult[], pushResults: PushResult[]): void {
  console.log(
    '\nContention check (a shared 2-core VM): CPU seconds while each target ran. On PGlite everything runs in the ' +
      'bench process, so "other" is competition; on Postgres it includes the server backend.\n',
  );
  console.log(
    markdownTable(
      ['target', 'wall s', 'bench process CPU s', 'other CPU s', 'steal s'],
      results
        .map((result) => [
          TARGET_TITLES[result.target],
          result.seconds.toFixed(1),
          result.cpu?.ownSeconds.toFixed(1) ?? 'n/a',
          result.cpu?.othersSeconds.toFixed(1) ?? 'n/a',
          result.cpu?.stealSeconds.toFixed(1) ?? 'n/a',
        ])
        .concat(
          pushResults.map((result) => [
            `push: ${TARGET_TITLES[result.target]}`,
            result.seconds.toFixed(1),
            result.cpu?.ownSeconds.toFixed(1) ?? 'n/a',
            result.cpu?.othersSeconds.toFixed(1) ?? 'n/a',
            result.cpu?.stealSeconds.toFixed(1) ?? 'n/a',
          ]),
        ),
    ),
  );
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const machine = readMachineInfo();
  console.log(
    '# VitalWatch bench: sensor_readings append and range read, sync push throughput, sync vs PouchDB\n',
  );
  console.log(`sections: ${SECTIONS.filter(runs).join(', ')}${only.length === 0 ? '' : ' (BENCH_ONLY)'}`);
  console.log(`$ nproc\n${machine.nproc}`);
  console.log(`$ free -g\n${machine.freeG}`);
  console.log(`$ uname -r\n${machine.kernel}`);
  console.log(`cpu: ${machine.cpuModel}`);
  console.log(`node: ${machine.node}`);
  console.log(`load average (1/5/15 min) at start: ${loadAverage()}`);
  for (const [name, version] of Object.entries(machine.packages)) console.log(`${name}: ${version}`);
  console.log(
    `plan: batches ${BATCH_SIZES.join(' and ')}, ${RUNS} runs × ${ROWS_PER_RUN} rows per (method, batch), ` +
      `read set ${READ_USERS} users × ${READ_ROWS_PER_USER} rows; samples every ${(DAY_MS / SAMPLES_PER_DAY).toFixed(0)} ms`,
  );

  if (runs('sensor') || runs('push')) {
    console.log(`warm-up (throwaway in-memory PGlite, not counted): ${(await warmUpEngine()).toFixed(1)} s`);
  }

  const results: TargetResult[] = [];
  let skipped: string | null = null;
  const openers = [
    () => openPgliteMemory(cleanups),
    () => openPgliteDisk(cleanups),
    () => openPostgres(adminUrl, cleanups),
  ];
  for (const open of runs('sensor') ? openers : []) {
    const target = await open();
    if ('unreachable' in target) {
      skipped = target.unreachable;
      banner([
        'POSTGRES SKIPPED: the server is unreachable, so there is no Postgres column in this run.',
        `url: ${adminUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}`,
        `error: ${target.unreachable}`,
        'Start PostgreSQL 15 or set BENCH_DATABASE_URL to an admin URL, then run `pnpm bench` again.',
      ]);
      continue;
    }
    try {
      results.push(await benchTarget(target));
    } finally {
      await target.close();
    }
  }

  const pushResults: PushResult[] = [];
  let pushSkipped: string | null = null;
  const pushOpeners = [() => openPgliteMemory(cleanups), () => openPostgres(adminUrl, cleanups)];
  if (runs('push')) {
    console.log(
      `\n# Push through the real server (buildApp, embedded auth, app.inject): ${PUSH_PLAN.moodBatch} moods per push, ` +
        `${PUSH_PLAN.samplesPerMutation} samples per push, ${PUSH_PLAN.batches} pushes each after a warm-up, ` +
        `${PUSH_PLAN.triggerTries} SOS tries`,
    );
  }
  for (const open of runs('push') ? pushOpeners : []) {
    const target = await open();
    if ('unreachable' in target) {
      pushSkipped = target.unreachable;
      banner([`POSTGRES SKIPPED for the push section too: ${target.unreachable}`]);
      continue;
    }
    console.log(`\n## push on ${TARGET_TITLES[target.name]}: ${target.location}`);
    try {
      const result = await benchPush(target, PUSH_PLAN);
      pushResults.push(result);
      printPushProgress(result);
    } finally {
      await target.close();
    }
  }

  const fairResults: SosBesideUploadResult[] = [];
  if (runs('sos-beside-upload')) {
    console.log(
      "\n# Another account's SOS while one account uploads its daily maximum (sos-beside-upload-bench.ts, loopback HTTP)",
    );
  }
  // PGlite on disk is what the server runs without DATABASE_URL (DATA_DIR); in memory, PGlite's in-memory file
  // system copies a whole relation file each time it grows, which stalls the event loop (README.md, this section).
  const fairOpeners = [
    { name: 'pglite-memory', open: () => openPgliteMemory(cleanups) },
    { name: 'pglite-disk', open: () => openPgliteDisk(cleanups) },
    { name: 'postgres', open: pushOpeners[1]! },
  ].filter(({ name }) => onlyTargets.length === 0 || onlyTargets.includes(name));
  for (const { open } of runs('sos-beside-upload') ? fairOpeners : []) {
    const target = await open();
    if ('unreachable' in target) {
      banner([`POSTGRES SKIPPED for the SOS-beside-upload section: ${target.unreachable}`]);
      continue;
    }
    try {
      const result = await benchSosBesideUpload(target, SOS_BESIDE_UPLOAD_PLAN);
      fairResults.push(result);
      console.log(
        `## ${TARGET_TITLES[target.name]}: SOS alone p50 ${formatMs(result.alone.p50Ms)}, p95 ${formatMs(result.alone.p95Ms)}; ` +
          `during the upload p50 ${formatMs(result.duringUpload.p50Ms)}, p95 ${formatMs(result.duringUpload.p95Ms)}, ` +
          `max ${formatMs(result.duringUpload.maxMs)} (${result.duringUpload.tries} SOS); upload ${result.upload.samples.toLocaleString('en')} ` +
          `samples in ${result.upload.pushes} pushes, ${result.upload.seconds.toFixed(1)} s (${formatRate(result.upload.samplesPerSecond)}/s); ` +
          `longest event-loop stall ${formatMs(result.eventLoopMaxMs)}; ${formatCpuUse(result.cpu, result.upload.seconds)}`,
      );
    } finally {
      await target.close();
    }
  }

  const compareResults: CompareResult[] = [];
  const incidentRuns: IncidentRun[] = [];
  const versions = pouchVersions();
  /** Ours' databases for a plan: PGlite memory and Postgres, or one of them (Postgres when reachable). */
  const compareTargets = (plan: (typeof COMPARE_PLANS)[number]) => {
    const postgres = async () => {
      const target = await openPostgres(adminUrl, cleanups);
      if (!('unreachable' in target)) return target;
      banner([`POSTGRES SKIPPED for the sync comparison: ${target.unreachable}`]);
      return null;
    };
    return plan.oneDatabase
      ? [async () => (await postgres()) ?? openPgliteMemory(cleanups)]
      : [() => openPgliteMemory(cleanups), postgres];
  };
  if (runs('sync-compare')) {
    console.log(
      '\n# Our sync and PouchDB through the same shaping proxy (sync-compare-bench.ts)\n' +
        `versions: ${Object.entries(versions)
          .map(([name, version]) => `${name} ${version}`)
          .join(', ')}`,
    );
    for (const [i, plan] of COMPARE_PLANS.entries()) {
      console.log(
        `\n## ${plan.profile.name}: ${plan.records.toLocaleString('en')} moods, ${plan.samples.toLocaleString('en')} samples, ` +
          `incident behind ${plan.incidentBacklog.toLocaleString('en')} samples × ${plan.incidentTries}`,
      );
      compareResults.push(await benchSyncCompare(plan, compareTargets(plan), 1_000 * (i + 1)));
    }
  }
  if (runs('sync-incident')) {
    console.log('\n# Incident behind a sample backlog, ours only (sync-compare-bench.ts, scenario 5)');
    for (const [i, plan] of COMPARE_PLANS.entries()) {
      console.log(
        `\n## ${plan.profile.name}: incident behind ${plan.incidentBacklog.toLocaleString('en')} samples × ${plan.incidentTries}`,
      );
      incidentRuns.push(await benchSyncIncident(plan, compareTargets(plan), 1_000 * (i + 1)));
    }
  }

  if (runs('sensor')) printSummary(results, skipped);
  if (runs('push')) printPushSummary(pushResults, pushSkipped);
  if (runs('sensor') || runs('push')) printContention(results, pushResults);
  if (runs('sos-beside-upload')) printSosBesideUpload(fairResults);
  for (const result of compareResults) {
    console.log(
      `\nSync vs PouchDB, ${result.plan.profile.name} (${result.plan.records.toLocaleString('en')} records; ` +
        'ours: real server + real client library; PouchDB 9 → express-pouchdb; gzip responses both, gzip requests ours only):\n',
    );
    console.log(printSyncCompare(result).join('\n'));
  }
  for (const run of incidentRuns) {
    console.log(`\nIncident behind a sample backlog, ${run.plan.profile.name} (ours only):\n`);
    console.log(printSyncIncident(run).join('\n'));
  }

  const totalSeconds = (performance.now() - started) / 1000;
  const endLoad = loadAverage();
  console.log(`\nload average (1/5/15 min) at end: ${endLoad}`);
  const record = {
    startedAt: startedAt.toISOString(),
    totalSeconds,
    machine,
    loadAverageAtEnd: endLoad,
    plan: {
      batchSizes: BATCH_SIZES,
      methods: METHODS.map((method) => method.name),
      rowsPerRun: ROWS_PER_RUN,
      runs: RUNS,
      readUsers: READ_USERS,
      readRowsPerUser: READ_ROWS_PER_USER,
      readQueryRuns: READ_QUERY_RUNS,
      breakdownBatch: BREAKDOWN_BATCH,
      breakdownReps: BREAKDOWN_REPS,
      samplesPerDay: SAMPLES_PER_DAY,
      push: PUSH_PLAN,
    },
    pushTargets: PUSH_TARGETS,
    peer: { source: 'docs/platform-facts.md', pgliteUnnestRowsPerSecond: PEER_PGLITE_UNNEST_ROWS_PER_SECOND },
    postgresSkipped: skipped,
    sections: SECTIONS.filter(runs),
    results,
    push: pushResults,
    sosBesideUpload: {
      plan: SOS_BESIDE_UPLOAD_PLAN,
      targetMs: SOS_BESIDE_UPLOAD_TARGET_MS,
      results: fairResults,
    },
    syncCompare: { versions, targets: SYNC_TARGETS, results: compareResults },
    syncIncident: incidentRuns,
  };
  const resultsDir = path.join(import.meta.dirname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  // One file per run (a shared machine's figures vary from run to run: keep them all) plus latest.json.
  const json = `${JSON.stringify(record, null, 2)}\n`;
  const file = path.join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, json);
  // latest.json is the last complete run; a BENCH_ONLY run is recorded in its own file only.
  if (only.length === 0) writeFileSync(path.join(resultsDir, 'latest.json'), json);
  console.log(
    `\nrecorded in ${path.relative(process.cwd(), file)}${only.length === 0 ? ' and results/latest.json' : ''}; ` +
      `total ${totalSeconds.toFixed(1)} s`,
  );
}

try {
  await main();
} catch (error) {
  // Once a signal or the watchdog closed the databases, the failing query is a consequence, not news.
  if (aborting === null) console.error(error);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await cleanups.runAll();
}
