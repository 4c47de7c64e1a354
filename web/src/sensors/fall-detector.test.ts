// The fall detector on synthetic signals made here (m/s², DeviceMotion's accelerationIncludingGravity). Its accuracy
// on recorded falls is measured by `pnpm eval:falls` and pinned on fixed trials in bench/fall-detector-data.test.ts.
import { describe, expect, it } from 'vitest';
import { seededRandom as random } from '@vitalwatch/schema/seeded-random';
import { createDetector, POST_END_MS, STANDARD_GRAVITY as G, type MotionSample } from './fall-detector.ts';

type Vec = [number, number, number];

/**
 * Builds a signal from segments, each a function of the time since its start (s) giving the acceleration in g,
 * with a little sensor noise. The device frame: upright means gravity on −y.
 */
function signal(
  hz: number,
  seed: number,
  segments: Array<[seconds: number, (s: number) => Vec]>,
): MotionSample[] {
  const noise = random(seed);
  const samples: MotionSample[] = [];
  let t0 = 0;
  for (const [seconds, shape] of segments) {
    const n = Math.round(seconds * hz);
    for (let i = 0; i < n; i++) {
      const [x, y, z] = shape(i / hz);
      const jitter = () => (noise() - 0.5) * 0.02;
      samples.push({
        t: t0 + (i * 1000) / hz,
        x: (x + jitter()) * G,
        y: (y + jitter()) * G,
        z: (z + jitter()) * G,
      });
    }
    t0 += (n * 1000) / hz;
  }
  return samples;
}

const upright = (): Vec => [0, -1, 0];
const lyingOnBack = (): Vec => [0, 0, -1];
const walking = (s: number): Vec => [
  0.15 * Math.sin(2 * Math.PI * s),
  -1 - 0.35 * Math.sin(4 * Math.PI * s),
  0.1,
];
/** A fall: free fall (|a| → 0.2 g) for 0.4 s, an impact of `peak` g over 0.1 s, then lying still. */
function fall(hz: number, seed: number, peak = 4): MotionSample[] {
  return signal(hz, seed, [
    [4, walking],
    [0.4, (s) => [0, -1 + 0.8 * Math.min(1, s / 0.15), 0]],
    [0.1, (s) => [0.3 * peak, -0.4 * peak * Math.sin(Math.PI * (s / 0.1)) - 0.2, -0.8 * peak]],
    [0.5, (s) => [0.3 * (1 - s), -0.3 * (1 - s), -1 - 0.5 * Math.sin(6 * Math.PI * s)]],
    [8, lyingOnBack],
  ]);
}

/** Indexes of the samples on which push returned true. */
function alarms(samples: MotionSample[]): number[] {
  const detector = createDetector();
  return samples.flatMap((sample, i) => (detector.push(sample) ? [i] : []));
}

function rotation(seed: number): (s: MotionSample) => MotionSample {
  const r = random(seed);
  const [a, b, c] = [r() * 2 * Math.PI, r() * 2 * Math.PI, r() * 2 * Math.PI];
  const rx = (v: Vec): Vec => [
    v[0],
    Math.cos(a) * v[1] - Math.sin(a) * v[2],
    Math.sin(a) * v[1] + Math.cos(a) * v[2],
  ];
  const ry = (v: Vec): Vec => [
    Math.cos(b) * v[0] + Math.sin(b) * v[2],
    v[1],
    -Math.sin(b) * v[0] + Math.cos(b) * v[2],
  ];
  const rz = (v: Vec): Vec => [
    Math.cos(c) * v[0] - Math.sin(c) * v[1],
    Math.sin(c) * v[0] + Math.cos(c) * v[1],
    v[2],
  ];
  return (s) => {
    const [x, y, z] = rz(ry(rx([s.x, s.y, s.z])));
    return { t: s.t, x, y, z };
  };
}

const activities: Record<string, MotionSample[]> = {
  'walking for a minute': signal(50, 2, [[60, walking]]),
  'jumping on the spot three times': signal(50, 3, [
    [3, upright],
    ...Array.from({ length: 3 }, (): [number, (s: number) => Vec] => [
      1.5,
      (s) => (s < 0.2 ? [0, -2, 0] : s < 0.5 ? [0, -0.05, 0] : s < 0.6 ? [0.2, -4, 0.3] : [0, -1, 0]),
    ]),
    [5, upright],
  ]),
  'sitting down hard on a chair': signal(50, 4, [
    [3, walking],
    [0.5, (s) => [0, -1 + 0.4 * Math.sin(Math.PI * s * 2), 0]],
    [0.1, () => [0.3, -2.6, 0.4]],
    [6, () => [0, -Math.cos(0.35), -Math.sin(0.35)]],
  ]),
  'lying down on a bed': signal(50, 5, [
    [3, upright],
    [2, (s) => [0, -Math.cos((s / 2) * (Math.PI / 2)), -Math.sin((s / 2) * (Math.PI / 2))]],
    [0.1, () => [0, 0, -1.5]],
    [6, lyingOnBack],
  ]),
};

describe('fall detector', () => {
  it('[FD1] a fall (free fall, impact, lying still) is reported on exactly one sample, 2.5 s after the impact', () => {
    const samples = fall(50, 1);
    const impact = samples.findIndex((s) => Math.hypot(s.x, s.y, s.z) > 3 * G);
    const found = alarms(samples);
    expect(found).toHaveLength(1);
    const at = samples[found[0] ?? 0]?.t ?? 0;
    expect(at - (samples[impact]?.t ?? 0)).toBeGreaterThanOrEqual(POST_END_MS);
    expect(at - (samples[impact]?.t ?? 0)).toBeLessThan(POST_END_MS + 200);
  });

  it('[FD1] works at 60 Hz and with a jittery clock as at 50 Hz', () => {
    expect(alarms(fall(60, 1))).toHaveLength(1);
    const jitter = random(9);
    const jittery = fall(50, 1).map((s) => ({ ...s, t: s.t + jitter() * 6 }));
    expect(alarms(jittery)).toHaveLength(1);
  });

  it('[FD1] a sample that is not a finite number, or older than the last, is ignored and nothing throws', () => {
    const detector = createDetector();
    const samples = fall(50, 1);
    let count = 0;
    for (const [i, sample] of samples.entries()) {
      if (i % 7 === 0) expect(detector.push({ t: sample.t, x: NaN, y: Infinity, z: 0 })).toBe(false);
      if (i % 11 === 0) expect(detector.push({ ...sample, t: sample.t - 5000, x: 100 * G })).toBe(false);
      if (detector.push(sample)) count++;
    }
    expect(count).toBe(1);
  });

  it('[FD2] the decisions do not depend on how the device is held: the same signals rotated give the same answers', () => {
    const signals = { fall: fall(50, 1), softer: fall(50, 6, 2.2), ...activities };
    for (const [name, samples] of Object.entries(signals)) {
      const expected = alarms(samples).length > 0;
      for (const seed of [11, 12, 13, 14, 15]) {
        expect({ name, seed, fell: alarms(samples.map(rotation(seed))).length > 0 }).toEqual({
          name,
          seed,
          fell: expected,
        });
      }
    }
  });

  it('[FD3] walking, jumping, sitting down hard and lying down on a bed are not falls', () => {
    for (const [name, samples] of Object.entries(activities)) {
      expect({ name, alarms: alarms(samples) }).toEqual({ name, alarms: [] });
    }
  });

  it('[FD3] a fall followed by getting up and walking on is still reported; two falls 30 s apart are two alarms', () => {
    const twice = [...fall(50, 1), ...fall(50, 7)].map((s, i) => ({ ...s, t: i * 20 }));
    expect(alarms(twice)).toHaveLength(2);
  });

  it('[FD3] known limit: a phone dropped onto a table and left there looks like a fall and is reported', () => {
    // Held in the hand, 0.35 s of free fall, a sharp knock, then lying flat and perfectly still. The app's
    // "Are you OK?" countdown is what stops this from becoming an SOS.
    const dropped = signal(50, 8, [
      [4, (s) => [0.05 * Math.sin(3 * s), -0.95, -0.3]],
      [0.35, () => [0, -0.02, 0]],
      [0.04, () => [0.5, 1, -6]],
      [0.3, (s) => [0, 0, -1 + 0.6 * Math.sin(20 * s)]],
      [6, () => [0, 0, -1]],
    ]);
    expect(alarms(dropped)).toHaveLength(1);
  });
});
