/**
 * Fits the fall detector's logistic model (web/src/sensors/fall-detector.ts) from labelled trials. Used by the
 * evaluation program for every cross-validation fold and for the final constants.
 *
 * Labels are per trial, not per impact, so the fit is multiple-instance: every candidate impact of a daily
 * activity is a negative; in a fall trial the fall is the candidate the current model scores highest (the one
 * with the highest peak to start), and the fit is repeated a few times.
 */
import {
  createDetector,
  featureVector,
  scoreFeatures,
  type FallModel,
  type ImpactFeatures,
} from '../web/src/sensors/fall-detector.ts';
import { runTrial, type FallTrial } from './fall-data.ts';

export type TrialCandidates = { trial: FallTrial; candidates: ImpactFeatures[] };

export function collectCandidates(trial: FallTrial): TrialCandidates {
  const candidates: ImpactFeatures[] = [];
  runTrial(createDetector({ onCandidate: (features) => candidates.push(features) }), trial);
  return { trial, candidates };
}

/** L2-regularised, weighted logistic regression by Newton's method on standardised features. */
function fitLogistic(rows: number[][], labels: number[], weights: number[], l2: number): number[] {
  const k = rows[0]?.length ?? 0;
  const mean = new Array<number>(k).fill(0);
  const sd = new Array<number>(k).fill(0);
  const total = weights.reduce((a, b) => a + b, 0);
  rows.forEach((row, r) =>
    row.forEach((v, j) => (mean[j] = (mean[j] ?? 0) + ((weights[r] ?? 0) * v) / total)),
  );
  rows.forEach((row, r) =>
    row.forEach((v, j) => (sd[j] = (sd[j] ?? 0) + ((weights[r] ?? 0) * (v - (mean[j] ?? 0)) ** 2) / total)),
  );
  for (let j = 0; j < k; j++) sd[j] = Math.sqrt(sd[j] ?? 0) || 1;
  const xs = rows.map((row) => [1, ...row.map((v, j) => (v - (mean[j] ?? 0)) / (sd[j] ?? 1))]);
  const beta = new Array<number>(k + 1).fill(0);
  for (let iteration = 0; iteration < 50; iteration++) {
    const gradient = new Array<number>(k + 1).fill(0);
    const hessian = Array.from({ length: k + 1 }, () => new Array<number>(k + 1).fill(0));
    xs.forEach((x, r) => {
      const z = x.reduce((s, v, j) => s + v * (beta[j] ?? 0), 0);
      const p = 1 / (1 + Math.exp(-z));
      const w = weights[r] ?? 0;
      for (let a = 0; a <= k; a++) {
        gradient[a] = (gradient[a] ?? 0) + w * ((labels[r] ?? 0) - p) * (x[a] ?? 0);
        for (let b = 0; b <= k; b++) {
          const row = hessian[a] ?? [];
          row[b] = (row[b] ?? 0) + w * p * (1 - p) * (x[a] ?? 0) * (x[b] ?? 0);
        }
      }
    });
    for (let a = 1; a <= k; a++) {
      gradient[a] = (gradient[a] ?? 0) - l2 * (beta[a] ?? 0);
      const row = hessian[a] ?? [];
      row[a] = (row[a] ?? 0) + l2;
    }
    const step = solve(hessian, gradient);
    let change = 0;
    for (let a = 0; a <= k; a++) {
      beta[a] = (beta[a] ?? 0) + (step[a] ?? 0);
      change = Math.max(change, Math.abs(step[a] ?? 0));
    }
    if (change < 1e-8) break;
  }
  // Back to the raw feature scale: z = b0 + Σ bj (v − mean)/sd.
  const raw = [beta[0] ?? 0];
  for (let j = 0; j < k; j++) {
    const bj = (beta[j + 1] ?? 0) / (sd[j] ?? 1);
    raw.push(bj);
    raw[0] = (raw[0] ?? 0) - bj * (mean[j] ?? 0);
  }
  return raw;
}

/** Gaussian elimination with partial pivoting. */
function solve(matrix: number[][], vector: number[]): number[] {
  const n = vector.length;
  const a = matrix.map((row, i) => [...row, vector[i] ?? 0]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]?.[c] ?? 0) > Math.abs(a[pivot]?.[c] ?? 0)) pivot = r;
    [a[c], a[pivot]] = [a[pivot] ?? [], a[c] ?? []];
    const top = a[c] ?? [];
    const p = top[c] ?? 0;
    if (Math.abs(p) < 1e-12) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const row = a[r] ?? [];
      const factor = (row[c] ?? 0) / p;
      for (let j = c; j <= n; j++) row[j] = (row[j] ?? 0) - factor * (top[j] ?? 0);
    }
  }
  return a.map((row, i) => (row[n] ?? 0) / (row[i] || 1));
}

/** A trial's score: its highest candidate's (−Infinity without a candidate impact: never a fall). */
export function trialScore(model: FallModel, trial: TrialCandidates): number {
  let best = -Infinity;
  for (const c of trial.candidates) best = Math.max(best, scoreFeatures(model, c));
  return best;
}

export type FitSettings = {
  /** Ridge penalty on the standardised weights. */
  l2: number;
  /** How much more a false alarm costs than a missed fall when the threshold is chosen. */
  falseAlarmCost: number;
};

export const FIT_SETTINGS: FitSettings = { l2: 1, falseAlarmCost: 1.5 };

/**
 * The model for a set of trials. Each dataset weighs the same (UMAFall is 5× smaller than SisFall), and within a
 * dataset falls and daily activities weigh the same, so that neither the bigger set nor the commoner class wins.
 */
export function fitModel(trials: TrialCandidates[], settings: FitSettings = FIT_SETTINGS): FallModel {
  const datasets = [...new Set(trials.map((t) => t.trial.dataset))];
  let model: FallModel | null = null;
  for (let round = 0; round < 3; round++) {
    const rows: number[][] = [];
    const labels: number[] = [];
    const groups: string[] = [];
    for (const t of trials) {
      if (t.candidates.length === 0) continue;
      if (t.trial.label === 'fall') {
        let best = t.candidates[0];
        for (const c of t.candidates) {
          const better = model
            ? scoreFeatures(model, c) > scoreFeatures(model, best ?? c)
            : c.peakG > (best?.peakG ?? 0);
          if (better) best = c;
        }
        if (best) {
          rows.push(featureVector(best));
          labels.push(1);
          groups.push(`${t.trial.dataset}/fall`);
        }
      } else {
        for (const c of t.candidates) {
          rows.push(featureVector(c));
          labels.push(0);
          groups.push(`${t.trial.dataset}/adl`);
        }
      }
    }
    const groupSize = new Map<string, number>();
    for (const g of groups) groupSize.set(g, (groupSize.get(g) ?? 0) + 1);
    const weights = groups.map((g) => rows.length / (datasets.length * 2) / (groupSize.get(g) ?? 1));
    const w = fitLogistic(rows, labels, weights, settings.l2);
    model = { weights: w, threshold: 0 };
  }
  const fitted = model ?? { weights: [], threshold: 0 };
  return { weights: fitted.weights, threshold: chooseThreshold(fitted, trials, settings.falseAlarmCost) };
}

/**
 * The threshold that minimises missed falls + falseAlarmCost × false alarms, as rates averaged over the
 * datasets, on the trials the model was fitted on.
 */
function chooseThreshold(model: FallModel, trials: TrialCandidates[], falseAlarmCost: number): number {
  const scored = trials.map((t) => ({ t, s: trialScore(model, t) }));
  const datasets = [...new Set(trials.map((t) => t.trial.dataset))];
  const candidates = [...new Set(scored.map((x) => x.s).filter(Number.isFinite))].sort((a, b) => a - b);
  let bestThreshold = 0;
  let bestCost = Infinity;
  for (const threshold of candidates) {
    let cost = 0;
    for (const dataset of datasets) {
      const inSet = scored.filter((x) => x.t.trial.dataset === dataset);
      const falls = inSet.filter((x) => x.t.trial.label === 'fall');
      const adls = inSet.filter((x) => x.t.trial.label === 'adl');
      const missed = falls.filter((x) => x.s < threshold).length / Math.max(1, falls.length);
      const alarms = adls.filter((x) => x.s >= threshold).length / Math.max(1, adls.length);
      cost += missed + falseAlarmCost * alarms;
    }
    if (cost < bestCost) {
      bestCost = cost;
      bestThreshold = threshold;
    }
  }
  // Halfway to the next lower trial score would generalise better, but the exact score keeps it reproducible.
  return bestThreshold;
}
