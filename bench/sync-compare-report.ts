/**
 * The printout of sync-compare-bench.ts: per link profile, one side-by-side table (ours on each database target,
 * PouchDB, PouchDB ÷ ours, issue #3's target and whether every one of ours meets it), then the requests by route.
 */
import type { TargetName } from './bench-targets.ts';
import {
  SAMPLES_PER_MUTATION,
  type CompareResult,
  type IncidentRun,
  type Measured,
  type OursResult,
} from './sync-compare-bench.ts';
import { formatBytes, markdownTable, percentile } from './stats.ts';

/** Issue #3 item 8, at 300 ms RTT / 750 kbit/s and 10,000 records where a count is given. */
export const SYNC_TARGETS = {
  catchUpRecords: 10_000,
  catchUpRequests: 25,
  catchUpSeconds: 15,
  bytesPerMutation: 60,
  bytesPerSample: 15,
  timesFewerThanPouch: 5,
  freshPullRequests: 20,
  freshPullBytes: 400 * 1000,
  idleRequests: 1,
  idleBytes: 1000,
  incidentLocalP95Ms: 50,
  /** Server commit p95 ≤ RTT + this. */
  incidentServerSlackMs: 150,
} as const;

const TARGET_TITLES: Record<TargetName, string> = {
  'pglite-memory': 'ours, PGlite memory',
  'pglite-disk': 'ours, PGlite disk',
  postgres: 'ours, Postgres 15',
};

const wire = (m: Measured) => m.meter.bytesUp + m.meter.bytesDown;
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
const s = (seconds: number) => `${seconds.toFixed(1)} s`;
const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(value < 10 ? 1 : 0)} ms` : 'n/a');

type Row = {
  label: string;
  target: string;
  /** Ours, one cell per database target. */
  ours: (o: OursResult) => string;
  pouch: string;
  /** The figure the verdict and the ratio use (absent: information only). */
  value?: { ours: (o: OursResult) => number; pouch: number | null };
  /** Does one of ours meet the target? null = no verdict in this profile. */
  meets: ((value: number) => boolean) | null;
  /** The ratio PouchDB ÷ ours must be at least this. */
  minRatio?: number;
};

function verdict(result: CompareResult, row: Row, ratio: number | null): string {
  const { meets, value } = row;
  if (meets === null || value === undefined) return '—';
  const missedOn = result.ours.filter((o) => !meets(value.ours(o))).map((o) => o.target);
  const ratioMissed = row.minRatio !== undefined && ratio !== null && ratio < row.minRatio;
  if (missedOn.length === 0 && !ratioMissed) return 'met';
  const parts = [
    ...(missedOn.length === result.ours.length ? [] : missedOn.map((name) => `on ${name}`)),
    ...(ratioMissed ? [`ratio < ${row.minRatio}×`] : []),
  ];
  return `**missed**${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

export function printSyncCompare(result: CompareResult): string[] {
  const { plan, ours, pouch } = result;
  const { profile } = plan;
  const t = SYNC_TARGETS;
  const full = plan.records === t.catchUpRecords;
  const counted = (check: (value: number) => boolean) => (full ? check : null);
  const n = plan.records.toLocaleString('en');
  const samples = plan.samples.toLocaleString('en');
  const perMood = (bytes: number) => `${(bytes / plan.records).toFixed(1)} B`;
  const perSample = (bytes: number) => `${(bytes / plan.samples).toFixed(1)} B`;
  const perPouchSample = (bytes: number) => `${(bytes / plan.pouchSamples).toFixed(1)} B`;
  const pouchSamples = plan.pouchSamples.toLocaleString('en');
  const upDown = (m: Measured) => `${kb(m.meter.bytesUp)} / ${kb(m.meter.bytesDown)}`;
  const pouchServer = pouch.incident.toServerMs;
  const rows: Row[] = [
    {
      label: `catch-up of ${n} moods: HTTP requests`,
      target: `≤ ${t.catchUpRequests}`,
      ours: (o) => String(o.catchUp.meter.requests),
      pouch: String(pouch.catchUp.meter.requests),
      value: { ours: (o) => o.catchUp.meter.requests, pouch: pouch.catchUp.meter.requests },
      meets: counted((v) => v <= t.catchUpRequests),
    },
    {
      label: '… of which push / pull (ours: the pull leaves out the rows the device created, SPEC PL11)',
      target: '',
      ours: (o) => `${o.catchUp.pushRequests} / ${o.catchUp.pullRequests}`,
      pouch: '',
      meets: null,
    },
    {
      label: `catch-up of ${n} moods: time`,
      target: `≤ ${t.catchUpSeconds} s`,
      ours: (o) => s(o.catchUp.seconds),
      pouch: s(pouch.catchUp.seconds),
      value: { ours: (o) => o.catchUp.seconds, pouch: pouch.catchUp.seconds },
      meets: counted((v) => v <= t.catchUpSeconds),
    },
    {
      label: 'catch-up: bytes up / down (every request)',
      target: '',
      ours: (o) => upDown(o.catchUp),
      pouch: upDown(pouch.catchUp),
      meets: null,
    },
    {
      label: 'bytes per user mutation (ours: push requests + responses; PouchDB: the whole replication)',
      target: `≤ ${t.bytesPerMutation} B, ≥ ${t.timesFewerThanPouch}× fewer`,
      ours: (o) => perMood(o.catchUp.pushBytes),
      pouch: perMood(wire(pouch.catchUp)),
      value: { ours: (o) => o.catchUp.pushBytes / plan.records, pouch: wire(pouch.catchUp) / plan.records },
      meets: (v) => v <= t.bytesPerMutation,
      minRatio: t.timesFewerThanPouch,
    },
    {
      label: '… ours, the whole catch-up (pushes, pull, spare connection)',
      target: '',
      ours: (o) => perMood(wire(o.catchUp)),
      pouch: '',
      meets: null,
    },
    {
      label: `bytes per sensor sample (ours: ${samples}, push exchanges; PouchDB: ${pouchSamples}, one doc each)`,
      target: `≤ ${t.bytesPerSample} B, ≥ ${t.timesFewerThanPouch}× fewer`,
      ours: (o) => perSample(o.samples.pushBytes),
      pouch: perPouchSample(wire(pouch.samplesOneDocEach)),
      value: {
        ours: (o) => o.samples.pushBytes / plan.samples,
        pouch: wire(pouch.samplesOneDocEach) / plan.pouchSamples,
      },
      meets: (v) => v <= t.bytesPerSample,
      minRatio: t.timesFewerThanPouch,
    },
    {
      label: `… PouchDB's best batching: one doc per ${SAMPLES_PER_MUTATION.toLocaleString('en')} samples (our columnar shape)`,
      target: '',
      ours: (o) => perSample(o.samples.pushBytes),
      pouch: perPouchSample(wire(pouch.samplesColumnarDocs)),
      value: {
        ours: (o) => o.samples.pushBytes / plan.samples,
        pouch: wire(pouch.samplesColumnarDocs) / plan.pouchSamples,
      },
      meets: null,
    },
    {
      label: 'samples: requests / time (PouchDB: one doc per sample)',
      target: '',
      ours: (o) => `${o.samples.meter.requests} / ${s(o.samples.seconds)}`,
      pouch: `${pouch.samplesOneDocEach.meter.requests} / ${s(pouch.samplesOneDocEach.seconds)}`,
      meets: null,
    },
    {
      label: `fresh device pulls ${n} records: HTTP requests`,
      target: `≤ ${t.freshPullRequests}`,
      ours: (o) => String(o.freshPull.meter.requests),
      pouch: String(pouch.freshPull.meter.requests),
      value: { ours: (o) => o.freshPull.meter.requests, pouch: pouch.freshPull.meter.requests },
      meets: counted((v) => v <= t.freshPullRequests),
    },
    {
      label: `fresh device pulls ${n} records: bytes (up + down)`,
      target: `≤ ${t.freshPullBytes / 1000} kB`,
      ours: (o) => kb(wire(o.freshPull)),
      pouch: kb(wire(pouch.freshPull)),
      value: { ours: (o) => wire(o.freshPull), pouch: wire(pouch.freshPull) },
      meets: counted((v) => v <= t.freshPullBytes),
    },
    {
      label: 'fresh pull: time',
      target: '',
      ours: (o) => s(o.freshPull.seconds),
      pouch: s(pouch.freshPull.seconds),
      value: { ours: (o) => o.freshPull.seconds, pouch: pouch.freshPull.seconds },
      meets: null,
    },
    {
      label: 'idle check-in: HTTP requests',
      target: String(t.idleRequests),
      ours: (o) => String(o.idle.meter.requests),
      pouch: String(pouch.idle.meter.requests),
      value: { ours: (o) => o.idle.meter.requests, pouch: pouch.idle.meter.requests },
      meets: (v) => v <= t.idleRequests,
    },
    {
      label: 'idle check-in: bytes (up + down)',
      target: `≤ ${t.idleBytes / 1000} kB`,
      ours: (o) => `${wire(o.idle)} B`,
      pouch: `${wire(pouch.idle)} B`,
      value: { ours: (o) => wire(o.idle), pouch: wire(pouch.idle) },
      meets: (v) => v <= t.idleBytes,
    },
    {
      label: `incident behind a ${plan.incidentBacklog.toLocaleString('en')}-sample backlog: local commit p95`,
      target: `≤ ${t.incidentLocalP95Ms} ms`,
      ours: (o) => ms(o.incident.localP95Ms),
      pouch: `${ms(percentile(pouch.incident.localPutMs, 95))} (local put)`,
      value: { ours: (o) => o.incident.localP95Ms, pouch: null },
      meets: (v) => v <= t.incidentLocalP95Ms,
    },
    {
      label: 'incident: server commit p95 (p50), from the tap',
      target: `≤ ${profile.rttMs + t.incidentServerSlackMs} ms`,
      ours: (o) => `${ms(o.incident.serverP95Ms)} (${ms(o.incident.serverP50Ms)})`,
      pouch:
        `${ms(percentile(pouchServer, 95))} (${ms(percentile(pouchServer, 50))}), behind ` +
        `${pouchSamples} sample docs, ${pouch.incident.arrived}/${pouch.incident.written} arrived`,
      value: { ours: (o) => o.incident.serverP95Ms, pouch: null },
      meets: (v) => v <= profile.rttMs + t.incidentServerSlackMs,
    },
  ];
  const reference = ours.at(-1);
  const lines = [
    markdownTable(
      [
        'figure',
        'target',
        ...ours.map((o) => TARGET_TITLES[o.target]),
        'PouchDB',
        'PouchDB ÷ ours',
        'verdict',
      ],
      rows.map((row) => {
        const ref = reference === undefined || row.value === undefined ? null : row.value.ours(reference);
        const theirs = row.value?.pouch ?? null;
        const ratio = theirs !== null && ref !== null && ref > 0 ? theirs / ref : null;
        return [
          row.label,
          row.target,
          ...ours.map(row.ours),
          row.pouch,
          ratio === null ? '' : `${ratio.toFixed(1)}×`,
          verdict(result, row, ratio),
        ];
      }),
    ),
    '',
    `Requests by route (${reference === undefined ? 'ours: none' : TARGET_TITLES[reference.target]}; PouchDB):`,
    '',
    markdownTable(
      ['scenario', 'ours', 'PouchDB'],
      (
        [
          ['catch-up', reference?.catchUp, pouch.catchUp],
          ['fresh pull', reference?.freshPull, pouch.freshPull],
          ['idle check-in', reference?.idle, pouch.idle],
          ['samples', reference?.samples, pouch.samplesOneDocEach],
          ['samples, PouchDB columnar docs', undefined, pouch.samplesColumnarDocs],
        ] as const
      ).map(([label, a, b]) => [label, routes(a), routes(b)]),
    ),
  ];
  if (reference !== undefined) {
    lines.push(
      '',
      `Segments lost and resent: ours ${lostOf(reference)}, PouchDB ${lostOfPouch(result)}. ` +
        `Local mood writes (fake-indexeddb): ${ours.map((o) => `${o.localWriteMsPerMood.toFixed(2)} ms`).join(', ')} each. ` +
        `Incident backlog upload (uncounted try): ${ours.map((o) => s(o.incident.backlogUploadSeconds)).join(', ')}. ` +
        `Whole profile: ${s(result.seconds)}.`,
    );
  }
  return lines;
}

function routes(measured: Pick<Measured, 'meter'> | undefined, separator = '<br>'): string {
  if (measured === undefined) return '';
  return Object.entries(measured.meter.requestsByRoute)
    .map(([route, count]) => {
      const bytes = measured.meter.bytesByRoute[route];
      return `${route} ×${count}${bytes === undefined ? '' : ` (${formatBytes(bytes.up)} up, ${formatBytes(bytes.down)} down)`}`;
    })
    .join(separator);
}

function lostOf(o: OursResult): string {
  const all = [o.catchUp, o.freshPull, o.idle, o.samples];
  return `${all.reduce((n, m) => n + m.meter.lostSegments, 0)} of ${all.reduce((n, m) => n + m.meter.segments, 0)}`;
}

function lostOfPouch(result: CompareResult): string {
  const p = result.pouch;
  const all = [p.catchUp, p.freshPull, p.idle, p.samplesOneDocEach, p.samplesColumnarDocs];
  return `${all.reduce((n, m) => n + m.meter.lostSegments, 0)} of ${all.reduce((n, m) => n + m.meter.segments, 0)}`;
}

/** `BENCH_ONLY=sync-incident`: scenario 5's two rows, each try, and what crossed the link. */
export function printSyncIncident(run: IncidentRun): string[] {
  const { plan, ours } = run;
  const t = SYNC_TARGETS;
  const serverTarget = plan.profile.rttMs + t.incidentServerSlackMs;
  const verdictOf = (values: readonly number[], limit: number) => {
    const missedOn = ours.filter((_, i) => !((values[i] ?? Number.NaN) <= limit)).map((o) => o.target);
    if (missedOn.length === 0) return 'met';
    return `**missed**${missedOn.length === ours.length ? '' : ` (${missedOn.map((name) => `on ${name}`).join(', ')})`}`;
  };
  const local = ours.map((o) => o.incident.localP95Ms);
  const server = ours.map((o) => o.incident.serverP95Ms);
  return [
    markdownTable(
      ['figure', 'target', ...ours.map((o) => TARGET_TITLES[o.target]), 'verdict'],
      [
        [
          `incident behind a ${plan.incidentBacklog.toLocaleString('en')}-sample backlog: local commit p95`,
          `≤ ${t.incidentLocalP95Ms} ms`,
          ...local.map(ms),
          verdictOf(local, t.incidentLocalP95Ms),
        ],
        [
          'incident: server commit p95 (p50), from the tap',
          `≤ ${serverTarget} ms`,
          ...ours.map((o) => `${ms(o.incident.serverP95Ms)} (${ms(o.incident.serverP50Ms)})`),
          verdictOf(server, serverTarget),
        ],
      ],
    ),
    '',
    ...ours.map(
      (o) =>
        `${TARGET_TITLES[o.target]}: backlog upload (uncounted try) ${s(o.incident.backlogUploadSeconds)}; ` +
        `tap at → server commit: ${o.incident.offsetsMs
          .map((at, i) => `${s(at / 1000)} → ${ms(o.incident.serverCommitMs[i] ?? Number.NaN)}`)
          .join(', ')}; ${o.incident.meter.connections} connections, ${routes(o.incident, ', ')}.`,
    ),
    `Whole profile: ${s(run.seconds)}.`,
  ];
}
