import { seededRandom } from '@vitalwatch/schema/seeded-random';
import { Hlc } from '@vitalwatch/schema/protocol/common';
import { describe, expect, it } from 'vitest';
import {
  compareHlc,
  formatHlc,
  HLC_MAX_DRIFT_MS,
  HLC_ZERO,
  parseHlc,
  receiveHlc,
  tickHlc,
  type HlcState,
} from '@vitalwatch/schema/protocol/hlc';

const NODE = '0190a000-0000-7000-8000-00000000abcd';
const T = 1_767_225_600_000;

describe('hybrid logical clock', () => {
  it('formats as the protocol Hlc and parses back', () => {
    const text = formatHlc({ ms: T, counter: 0x2a }, NODE);
    expect(text).toBe(`${T}-002a-${NODE}`);
    expect(Hlc.safeParse(text).success).toBe(true);
    expect(parseHlc(text)).toEqual({ ms: T, counter: 0x2a, node: NODE });
    expect(parseHlc('not an hlc')).toBeNull();
  });

  it('ticks forward with the clock, and counts when the clock stands still or goes back', () => {
    const a = tickHlc(HLC_ZERO, T);
    const b = tickHlc(a, T);
    const c = tickHlc(b, T - 60_000);
    const d = tickHlc(c, T + 1);
    expect([a, b, c, d]).toEqual([
      { ms: T, counter: 0 },
      { ms: T, counter: 1 },
      { ms: T, counter: 2 },
      { ms: T + 1, counter: 0 },
    ]);
  });

  it('borrows a millisecond when the counter would overflow', () => {
    expect(tickHlc({ ms: T, counter: 0xffff }, T)).toEqual({ ms: T + 1, counter: 0 });
  });

  it('after receiving a stamp, the next local stamp sorts after it', () => {
    const local = tickHlc(HLC_ZERO, T);
    const remote = { ms: T + 5_000, counter: 7 };
    const merged = receiveHlc(local, remote, T + 1);
    expect(compareHlc(merged, remote)).toBeGreaterThan(0);
    expect(compareHlc(tickHlc(merged, T + 2), merged)).toBeGreaterThan(0);
  });

  it('a remote stamp far in the future moves the clock at most HLC_MAX_DRIFT_MS ahead', () => {
    const merged = receiveHlc(HLC_ZERO, { ms: T + 365 * 86_400_000, counter: 0 }, T);
    expect(merged.ms).toBe(T + HLC_MAX_DRIFT_MS);
  });

  it('stamps are strictly increasing whatever the clock does (seeded random walk)', () => {
    const random = seededRandom(42);
    let state: HlcState = HLC_ZERO;
    let wall = T;
    let previous = formatHlc(state, NODE);
    for (let i = 0; i < 5_000; i += 1) {
      wall += Math.floor((random() - 0.3) * 2_000);
      state =
        random() < 0.3
          ? receiveHlc(
              state,
              { ms: wall + Math.floor((random() - 0.5) * 10_000), counter: Math.floor(random() * 10) },
              wall,
            )
          : tickHlc(state, wall);
      const text = formatHlc(state, NODE);
      expect(text > previous).toBe(true);
      previous = text;
    }
  });
});
