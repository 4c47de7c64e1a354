/**
 * `pnpm eval:falls [folder] [--no-cv]`: how well the fall detector (web/src/sensors/fall-detector.ts) works on
 * every trial of every `*.jsonl.gz` in the folder (default `../shared/data/falls` from the repository root; format
 * in that folder's README.md). Each trial gets a fresh detector, fed sample by sample as DeviceMotion would (t in
 * ms, m/s²; the data is in g at 50 Hz).
 *
 * 1. Cross-validation by subject (skipped with --no-cv, e.g. on a held-out folder): leave one subject out. For
 *    each person the model is fitted on everybody else's trials (bench/fall-fit.ts) and a fresh detector with it
 *    judges that person's trials. These are the figures to quote for people the detector has never seen.
 * 2. The shipped constants (DEFAULT_MODEL in the detector) on every trial, with the time spent in the detector.
 *    On the development folder these were fitted on the same trials, so they are optimistic; on a folder of other
 *    people they are the real test. A refit on the folder is compared with the shipped constants.
 *
 * Prints sensitivity and specificity with 95% Wilson intervals per dataset and age group, false alarms per hour
 * of daily activity, counts per activity, and ends with one line:
 * `falls: sensitivity S%, specificity P%, false alarms F per hour, N trials` (the shipped constants).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createDetector,
  DEFAULT_MODEL,
  FEATURE_NAMES,
  type FallModel,
} from '../web/src/sensors/fall-detector.ts';
import { fallDataFiles, motionSamples, readFallTrials, type FallTrial } from './fall-data.ts';
import { collectCandidates, FIT_SETTINGS, fitModel } from './fall-fit.ts';
import { loadAverage, readMachineInfo } from './machine-info.ts';
import { markdownTable } from './stats.ts';

const started = performance.now();
const args = process.argv.slice(2);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const folder = path.resolve(repoRoot, args.find((a) => !a.startsWith('--')) ?? '../shared/data/falls');
const crossValidate = !args.includes('--no-cv');

type Outcome = { trial: FallTrial; alarms: number; ms: number };

function wilson(successes: number, n: number): [number, number] {
  if (n === 0) return [NaN, NaN];
  const z = 1.959964;
  const p = successes / n;
  const denominator = 1 + (z * z) / n;
  const centre = p + (z * z) / (2 * n);
  const margin = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [(centre - margin) / denominator, (centre + margin) / denominator];
}

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '–');

function rate(successes: number, n: number): string {
  if (n === 0) return '–';
  const [low, high] = wilson(successes, n);
  return `${pct(successes / n)} (${successes}/${n}; ${pct(low)}–${pct(high)})`;
}

function ageGroup(trial: FallTrial): string {
  if (trial.age >= 60) return 'aged 60+';
  if (trial.age >= 40) return 'aged 40–59';
  return 'aged under 40';
}

const hours = (trials: FallTrial[]) => trials.reduce((s, t) => s + t.accelG.length / t.hz, 0) / 3600;

type Summary = { sensitivity: number; specificity: number; perHour: number; trials: number };

function summarise(outcomes: Outcome[]): Summary {
  const falls = outcomes.filter((o) => o.trial.label === 'fall');
  const adls = outcomes.filter((o) => o.trial.label === 'adl');
  const alarms = adls.reduce((s, o) => s + o.alarms, 0);
  return {
    sensitivity: falls.filter((o) => o.alarms > 0).length / falls.length,
    specificity: adls.filter((o) => o.alarms === 0).length / adls.length,
    perHour: alarms / hours(adls.map((o) => o.trial)),
    trials: outcomes.length,
  };
}

function report(title: string, outcomes: Outcome[]): Summary {
  console.log(`\n### ${title}\n`);
  const groups = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    for (const key of [o.trial.dataset, `${o.trial.dataset}, ${ageGroup(o.trial)}`]) {
      groups.set(key, [...(groups.get(key) ?? []), o]);
    }
  }
  const rows = [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, group]) => {
      const falls = group.filter((o) => o.trial.label === 'fall');
      const adls = group.filter((o) => o.trial.label === 'adl');
      const alarms = adls.reduce((s, o) => s + o.alarms, 0);
      const adlHours = hours(adls.map((o) => o.trial));
      return [
        key,
        String(new Set(group.map((o) => o.trial.subject)).size),
        rate(falls.filter((o) => o.alarms > 0).length, falls.length),
        rate(adls.filter((o) => o.alarms === 0).length, adls.length),
        adlHours > 0 ? `${(alarms / adlHours).toFixed(2)} (${alarms} in ${adlHours.toFixed(2)} h)` : '–',
      ];
    });
  console.log(
    markdownTable(
      [
        'dataset, age group',
        'people',
        'sensitivity (95% CI)',
        'specificity (95% CI)',
        'false alarms / h of ADL',
      ],
      rows,
    ),
  );
  const activities = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    const key = `${o.trial.dataset} ${o.trial.activity}`;
    activities.set(key, [...(activities.get(key) ?? []), o]);
  }
  console.log('\nPer activity (flagged = the detector said "fall"):\n');
  console.log(
    markdownTable(
      ['dataset activity', 'label', 'trials', 'flagged', 'wrong', 'description'],
      [...activities.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, group]) => {
          const label = group[0]?.trial.label ?? 'adl';
          const flagged = group.filter((o) => o.alarms > 0).length;
          const wrong = label === 'fall' ? group.length - flagged : flagged;
          return [
            key,
            label,
            String(group.length),
            String(flagged),
            String(wrong),
            group[0]?.trial.description ?? '',
          ];
        }),
    ),
  );
  const people = new Map<string, Outcome[]>();
  for (const o of outcomes) people.set(o.trial.subject, [...(people.get(o.trial.subject) ?? []), o]);
  console.log('\nPer person (only those with a missed fall or a false alarm):\n');
  console.log(
    markdownTable(
      ['person', 'age', 'falls missed', 'ADL trials flagged'],
      [...people.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([subject, group]) => {
          const falls = group.filter((o) => o.trial.label === 'fall');
          const adls = group.filter((o) => o.trial.label === 'adl');
          const missed = falls.filter((o) => o.alarms === 0).length;
          const flagged = adls.filter((o) => o.alarms > 0).length;
          return {
            row: [
              subject,
              String(group[0]?.trial.age ?? ''),
              `${missed}/${falls.length}`,
              `${flagged}/${adls.length}`,
            ],
            shown: missed + flagged > 0,
          };
        })
        .filter((p) => p.shown)
        .map((p) => p.row),
    ),
  );
  const summary = summarise(outcomes);
  console.log(
    `\n${title}: sensitivity ${pct(summary.sensitivity)}, specificity ${pct(summary.specificity)}, ` +
      `false alarms ${summary.perHour.toFixed(2)} per hour, ${summary.trials} trials`,
  );
  return summary;
}

function run(model: FallModel, trial: FallTrial): Outcome {
  const detector = createDetector({ model });
  const samples = motionSamples(trial);
  let alarms = 0;
  const start = performance.now();
  for (const sample of samples) if (detector.push(sample)) alarms++;
  return { trial, alarms, ms: performance.now() - start };
}

const info = readMachineInfo();
console.log(`## Fall detection: ${folder}\n`);
console.log(
  `machine: ${info.cpuModel}, ${info.nproc} cores, Linux ${info.kernel}, Node ${info.node}, load ${info.loadAverageAtStart}`,
);
const trials: FallTrial[] = [];
for (const file of fallDataFiles(folder)) trials.push(...(await readFallTrials(file)));
const loaded = performance.now();
console.log(
  `read ${trials.length} trials (${trials.reduce((s, t) => s + t.accelG.length, 0)} samples, ` +
    `${hours(trials).toFixed(1)} h) in ${((loaded - started) / 1000).toFixed(1)} s`,
);

const candidates = trials.map(collectCandidates);
if (crossValidate) {
  const subjects = [...new Set(trials.map((t) => t.subject))].sort();
  const outcomes: Outcome[] = [];
  for (const subject of subjects) {
    const model = fitModel(
      candidates.filter((c) => c.trial.subject !== subject),
      FIT_SETTINGS,
    );
    for (const trial of trials.filter((t) => t.subject === subject)) outcomes.push(run(model, trial));
  }
  report(
    `cross-validated (leave one subject out: ${subjects.length} models, each judging one person it never saw)`,
    outcomes,
  );
  console.log(`cross-validation took ${((performance.now() - loaded) / 1000).toFixed(1)} s`);
}

const refit = fitModel(candidates, FIT_SETTINGS);
const same =
  Math.abs(refit.threshold - DEFAULT_MODEL.threshold) < 1e-5 &&
  refit.weights.every((w, i) => Math.abs(w - (DEFAULT_MODEL.weights[i] ?? NaN)) < 1e-5);
console.log(
  same
    ? '\nThe shipped constants (DEFAULT_MODEL) are the fit on every trial of this folder.'
    : '\n!!! The shipped constants differ from a fit on every trial of this folder (expected on a held-out ' +
        'folder). The refit, to paste into DEFAULT_MODEL after a change of features or of the development data:',
);
if (!same) {
  console.log(`  weights: [${refit.weights.map((w) => w.toPrecision(8)).join(', ')}],`);
  console.log(`  threshold: ${refit.threshold.toPrecision(8)},`);
}
console.log(
  `features: intercept ${DEFAULT_MODEL.weights[0]?.toFixed(3)}; ` +
    FEATURE_NAMES.map((name, i) => `${name} ${DEFAULT_MODEL.weights[i + 1]?.toFixed(3)}`).join('; ') +
    `; threshold ${DEFAULT_MODEL.threshold.toFixed(3)}`,
);

const outcomes = trials.map((trial) => run(DEFAULT_MODEL, trial));
const samples = trials.reduce((s, t) => s + t.accelG.length, 0);
const detectorMs = outcomes.reduce((s, o) => s + o.ms, 0);
const summary = report('shipped constants (DEFAULT_MODEL) on every trial', outcomes);
console.log(
  `\ntime: ${((performance.now() - started) / 1000).toFixed(1)} s in all; the detector ${(detectorMs / 1000).toFixed(2)} s ` +
    `for ${samples} samples = ${((detectorMs * 1000) / samples).toFixed(2)} µs a sample (target ≤ 50 µs); ` +
    `load at end ${loadAverage()}`,
);
console.log(
  `falls: sensitivity ${pct(summary.sensitivity).replace('%', '')}%, specificity ${pct(summary.specificity).replace('%', '')}%, ` +
    `false alarms ${summary.perHour.toFixed(2)} per hour, ${summary.trials} trials`,
);
