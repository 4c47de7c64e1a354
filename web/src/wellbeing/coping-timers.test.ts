import { describe, expect, it } from 'vitest';
import { checkSmsSegment } from '../sos/sos-sms.ts';
import { copingLogArgs } from './coping-log.ts';
import { BREATH_IN_MS, BREATH_OUT_MS, BREATHING_SESSION_MS, breathingAt } from './paced-breathing.ts';
import { DEFAULT_TRUSTED_MESSAGE, trustedMessageUri } from './trusted-message.ts';
import { URGE_PROMPT_MS, URGE_PROMPTS, urgeWaveAt } from './urge-wave.ts';

/** A fake clock: the tests move time by hand; nothing sleeps. */
function fakeClock(start = 1_750_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms), elapsed: () => now - start };
}

describe('coping tool timers on a fake clock (issue #16)', () => {
  it('[WB24] paced breathing: in for 4 s, out for 6 s, twelve breaths, then done', () => {
    const clock = fakeClock();
    expect(breathingAt(clock.elapsed())).toEqual({ phase: 'in', breath: 1, secondsLeft: 4 });
    clock.advance(3_999);
    expect(breathingAt(clock.elapsed())).toEqual({ phase: 'in', breath: 1, secondsLeft: 1 });
    clock.advance(1);
    expect(breathingAt(clock.elapsed())).toEqual({ phase: 'out', breath: 1, secondsLeft: 6 });
    clock.advance(BREATH_OUT_MS);
    expect(breathingAt(clock.elapsed())).toEqual({ phase: 'in', breath: 2, secondsLeft: 4 });
    clock.advance(BREATHING_SESSION_MS - BREATH_IN_MS - BREATH_OUT_MS - 1);
    expect(breathingAt(clock.elapsed())).toMatchObject({ phase: 'out', breath: 12 });
    clock.advance(1);
    expect(breathingAt(clock.elapsed())).toEqual({ phase: 'done', breath: 12, secondsLeft: 0 });
  });

  it('[WB25] ride the wave counts up and changes its prompt every 30 s, and never ends by itself', () => {
    const clock = fakeClock();
    expect(urgeWaveAt(clock.elapsed())).toEqual({ elapsed: '0:00', prompt: URGE_PROMPTS[0] });
    clock.advance(URGE_PROMPT_MS);
    expect(urgeWaveAt(clock.elapsed())).toEqual({ elapsed: '0:30', prompt: URGE_PROMPTS[1] });
    clock.advance(60 * 60_000);
    expect(urgeWaveAt(clock.elapsed()).elapsed).toBe('60:30');
  });

  it('[WB23] a use is logged with its duration and only the ratings the user gave', () => {
    const clock = fakeClock();
    const startedAt = clock.now();
    clock.advance(125_400);
    const use = {
      id: '0193e0a0-0000-7000-8000-000000000001',
      tool: 'paced_breathing' as const,
      startedAt,
      endedAt: clock.now(),
      completed: true,
      distressBefore: 8,
      distressAfter: 5,
      helpfulness: 4,
    };
    clock.advance(40_000); // rating afterwards does not count as time in the exercise
    expect(copingLogArgs(use, clock.now())).toEqual({
      id: use.id,
      tool: 'paced_breathing',
      startedAt,
      durationSeconds: 125,
      completed: true,
      distressBefore: 8,
      distressAfter: 5,
      helpfulness: 4,
    });
    // Left mid-exercise without ratings: not completed, timed to the moment it was left, no ratings invented.
    const left = copingLogArgs(
      { ...use, endedAt: null, completed: false, distressAfter: null, helpfulness: null, distressBefore: 0 },
      clock.now(),
    );
    expect(left).toEqual({
      id: use.id,
      tool: 'paced_breathing',
      startedAt,
      durationSeconds: 165,
      completed: false,
      distressBefore: 0,
    });
  });

  it('[WB26] the trusted-person message opens one composer for one number and fits one SMS', () => {
    expect(checkSmsSegment(DEFAULT_TRUSTED_MESSAGE).oneSegment).toBe(true);
    expect(trustedMessageUri('+254700000001', 'Call me please', false)).toBe(
      'sms:+254700000001?body=Call%20me%20please',
    );
    expect(trustedMessageUri('+254700000001', '  ', true)).toBe(
      `sms:+254700000001&body=${encodeURIComponent(DEFAULT_TRUSTED_MESSAGE)}`,
    );
  });
});
