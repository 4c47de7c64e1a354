/**
 * Fall detector over the phone's accelerometer (DeviceMotion `accelerationIncludingGravity`, m/s², 50–60 Hz).
 * Pure and dependency-free: it keeps the last few seconds of samples and answers `push(sample)` with `true` on
 * the one sample where it decides a fall happened (SPEC FD1–FD4).
 *
 * How it decides (every figure is in g, the magnitude |a| is orientation-independent):
 * 1. A **candidate impact** is a sample whose |a| reaches IMPACT_MIN_G and is the largest within ±PEAK_HALF_MS.
 * 2. It is judged POST_END_MS after the impact, once the person had time to come to rest, from seven features:
 *    the impact peak, the free-fall dip before it, the change of posture (the angle between the mean acceleration
 *    vector before the fall and after it, i.e. the gravity direction in the device's own frame, so no axis is
 *    assumed), how still the device is after it, how far from 1 g it rests, and how active it was before.
 * 3. A small logistic model (the coefficients below, fitted by `pnpm eval:falls` with subject-wise
 *    cross-validation, bench/README.md "Fall detection") turns them into a score; a score ≥ the threshold is a
 *    fall. After a fall the detector stays quiet for REFRACTORY_MS so one fall raises one alarm.
 *
 * Cost: a few arithmetic operations a sample; the windowed sums run only for candidate impacts.
 */

export type MotionSample = { t: number; x: number; y: number; z: number };

/** What the model sees about one candidate impact (g, degrees, ms). */
export type ImpactFeatures = {
  /** Time (ms, the sample's `t`) of the impact peak. */
  t: number;
  peakG: number;
  /** Lowest |a| in the FREE_FALL_MS before the peak. */
  dipG: number;
  /** Angle between the mean vector before the fall and the mean vector after it, degrees. */
  postureChangeDeg: number;
  /** Standard deviation of |a| after the fall (inactivity). */
  postStdG: number;
  /** Mean |a| after the fall. */
  postMeanG: number;
  /** Standard deviation of |a| before the fall (how active the person was). */
  preStdG: number;
  /** Mean of | |a| − 1 g | over ±IMPACT_WINDOW_MS around the peak (the energy of the impact). */
  impactActivityG: number;
  /**
   * The largest speed (g·s, ×9.8 for m/s) gained while |a| < 1 g in the FREE_FALL_MS before the peak: the
   * integral of 1 g − |a| over the best stretch (a maximum-sum run, so short bumps do not reset it).
   */
  fallSpeedGs: number;
};

/** The model's inputs as numbers, in the order of the weights. Shared with the fitting program. */
export function featureVector(f: ImpactFeatures): number[] {
  return [
    Math.log(f.peakG),
    f.dipG,
    Math.min(f.postureChangeDeg, 90) / 90,
    Math.max(0, f.postureChangeDeg - 110) / 70,
    Math.log(f.postStdG + 0.01),
    Math.abs(f.postMeanG - 1),
    Math.log(f.preStdG + 0.01),
    f.impactActivityG,
    f.fallSpeedGs,
  ];
}

export const FEATURE_NAMES = [
  'ln(peak g)',
  'dip g',
  'min(posture change, 90°) / 90°',
  'max(0, posture change − 110°) / 70°',
  'ln(post SD g + 0.01)',
  '|post mean g − 1|',
  'ln(pre SD g + 0.01)',
  'impact activity g',
  'fall speed g·s',
] as const;

export type FallModel = {
  /** Intercept, then one weight per entry of featureVector. */
  weights: readonly number[];
  /** Score (log-odds) at or above which a candidate is a fall. */
  threshold: number;
};

/** Fitted by `pnpm eval:falls` on all development trials (bench/README.md "Fall detection"). */
export const DEFAULT_MODEL: FallModel = {
  weights: [
    -22.638865, 5.9806744, -1.5692955, 12.544843, -19.540355, -0.96290351, -8.4156478, -0.75609782, 5.1043427,
    12.90077,
  ],
  threshold: 1.0463892,
};

export type DetectorOptions = {
  model?: FallModel;
  /** Called for every candidate impact with its features and score (for the evaluation program). */
  onCandidate?: (features: ImpactFeatures, score: number) => void;
};

export type FallDetector = { push(sample: MotionSample): boolean };

/** m/s² per g (standard gravity): DeviceMotion gives m/s², the model works in g. */
export const STANDARD_GRAVITY = 9.80665;
const G = STANDARD_GRAVITY;
/** |a| that makes a sample a candidate impact. Below it nothing is computed. */
export const IMPACT_MIN_G = 1.6;
const PEAK_HALF_MS = 1000;
const FREE_FALL_MS = 1000;
const IMPACT_WINDOW_MS = 500;
const PRE_START_MS = 3000;
const PRE_END_MS = 1000;
const POST_START_MS = 1000;
export const POST_END_MS = 2500;
const REFRACTORY_MS = 10_000;
/** Enough for PRE_START_MS + POST_END_MS at up to ~350 Hz. */
const CAPACITY = 2048;
const MASK = CAPACITY - 1;

export function scoreFeatures(model: FallModel, features: ImpactFeatures): number {
  const v = featureVector(features);
  let z = model.weights[0] ?? 0;
  for (let k = 0; k < v.length; k++) z += (model.weights[k + 1] ?? 0) * (v[k] ?? 0);
  return z;
}

export function createDetector(options: DetectorOptions = {}): FallDetector {
  const model = options.model ?? DEFAULT_MODEL;
  const onCandidate = options.onCandidate;
  const ts = new Float64Array(CAPACITY);
  const xs = new Float64Array(CAPACITY);
  const ys = new Float64Array(CAPACITY);
  const zs = new Float64Array(CAPACITY);
  const ms = new Float64Array(CAPACITY); // |a| in g
  /** Number of samples pushed; sample n lives at index n & MASK while n > count − CAPACITY. */
  let count = 0;
  /** The next sample to judge as a candidate once POST_END_MS have passed after it. */
  let next = 0;
  let quietUntil = -Infinity;

  const oldest = () => Math.max(0, count - CAPACITY);

  /** Indexes (sample numbers) of the samples with from ≤ t < to, as [first, end). */
  function range(from: number, to: number, around: number): [number, number] {
    let first = around;
    while (first > oldest() && (ts[(first - 1) & MASK] ?? 0) >= from) first--;
    while (first < count && (ts[first & MASK] ?? 0) < from) first++;
    let end = Math.max(first, around);
    while (end < count && (ts[end & MASK] ?? 0) < to) end++;
    while (end > first && (ts[(end - 1) & MASK] ?? 0) >= to) end--;
    return [first, end];
  }

  function isPeak(n: number): boolean {
    const t = ts[n & MASK] ?? 0;
    const m = ms[n & MASK] ?? 0;
    for (let j = n - 1; j >= oldest() && t - (ts[j & MASK] ?? 0) <= PEAK_HALF_MS; j--) {
      if ((ms[j & MASK] ?? 0) >= m) return false;
    }
    for (let j = n + 1; j < count && (ts[j & MASK] ?? 0) - t <= PEAK_HALF_MS; j++) {
      if ((ms[j & MASK] ?? 0) > m) return false;
    }
    return true;
  }

  function stats(first: number, end: number): { mean: number; sd: number; x: number; y: number; z: number } {
    const n = end - first;
    if (n <= 0) return { mean: 1, sd: 0, x: 0, y: 0, z: 0 };
    let s = 0;
    let s2 = 0;
    let x = 0;
    let y = 0;
    let z = 0;
    for (let j = first; j < end; j++) {
      const i = j & MASK;
      const m = ms[i] ?? 0;
      s += m;
      s2 += m * m;
      x += xs[i] ?? 0;
      y += ys[i] ?? 0;
      z += zs[i] ?? 0;
    }
    const mean = s / n;
    return { mean, sd: Math.sqrt(Math.max(0, s2 / n - mean * mean)), x: x / n, y: y / n, z: z / n };
  }

  function features(n: number): ImpactFeatures {
    const t = ts[n & MASK] ?? 0;
    const [dipFirst, dipEnd] = range(t - FREE_FALL_MS, t, n);
    let dipG = ms[n & MASK] ?? 0;
    let run = 0;
    let fallSpeedGs = 0;
    for (let j = dipFirst; j < dipEnd; j++) {
      const m = ms[j & MASK] ?? 0;
      dipG = Math.min(dipG, m);
      const dt = j > 0 ? ((ts[j & MASK] ?? 0) - (ts[(j - 1) & MASK] ?? 0)) / 1000 : 0;
      run = Math.max(0, run + (1 - m) * Math.min(dt, 0.1));
      fallSpeedGs = Math.max(fallSpeedGs, run);
    }
    let [preFirst, preEnd] = range(t - PRE_START_MS, t - PRE_END_MS, n);
    // A stream younger than the pre-fall window: use what came before the free fall.
    if (preEnd <= preFirst) [preFirst, preEnd] = [oldest(), Math.max(oldest() + 1, dipFirst)];
    const pre = stats(preFirst, preEnd);
    const post = stats(...range(t + POST_START_MS, t + POST_END_MS + 1, n));
    const [impFirst, impEnd] = range(t - IMPACT_WINDOW_MS, t + IMPACT_WINDOW_MS, n);
    let activity = 0;
    for (let j = impFirst; j < impEnd; j++) activity += Math.abs((ms[j & MASK] ?? 1) - 1);
    const preNorm = Math.hypot(pre.x, pre.y, pre.z);
    const postNorm = Math.hypot(post.x, post.y, post.z);
    const cos =
      preNorm > 0 && postNorm > 0
        ? (pre.x * post.x + pre.y * post.y + pre.z * post.z) / (preNorm * postNorm)
        : 1;
    return {
      t,
      peakG: ms[n & MASK] ?? 0,
      dipG,
      postureChangeDeg: (Math.acos(Math.min(1, Math.max(-1, cos))) * 180) / Math.PI,
      postStdG: post.sd,
      postMeanG: post.mean,
      preStdG: pre.sd,
      impactActivityG: impEnd > impFirst ? activity / (impEnd - impFirst) : 0,
      fallSpeedGs,
    };
  }

  return {
    push(sample: MotionSample): boolean {
      const { t, x, y, z } = sample;
      if (!Number.isFinite(t) || !Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z))
        return false;
      // Time must not go back: a sample older than the last one is dropped.
      if (count > 0 && t < (ts[(count - 1) & MASK] ?? 0)) return false;
      const i = count & MASK;
      ts[i] = t;
      xs[i] = x / G;
      ys[i] = y / G;
      zs[i] = z / G;
      ms[i] = Math.hypot(x, y, z) / G;
      count++;
      next = Math.max(next, oldest());
      let fell = false;
      while (next < count && (ts[next & MASK] ?? 0) + POST_END_MS <= t) {
        const n = next++;
        if ((ms[n & MASK] ?? 0) < IMPACT_MIN_G || !isPeak(n)) continue;
        const f = features(n);
        const score = scoreFeatures(model, f);
        onCandidate?.(f, score);
        if (!fell && score >= model.threshold && f.t >= quietUntil) {
          fell = true;
          quietUntil = f.t + REFRACTORY_MS;
        }
      }
      return fell;
    },
  };
}
