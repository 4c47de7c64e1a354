/**
 * Paced breathing (SPEC WB24): in for IN_MS, out for OUT_MS (six breaths a minute), for SESSION_MS. A pure
 * function of the time since the start, so the screen's ticker and the tests' fake clock agree; the guide is a
 * CSS animation driven by the phase (still, with the words only, under prefers-reduced-motion).
 */
export const BREATH_IN_MS = 4_000;
export const BREATH_OUT_MS = 6_000;
export const BREATHING_SESSION_MS = 120_000;

export type BreathPhase = 'in' | 'out' | 'done';

export interface BreathingState {
  phase: BreathPhase;
  /** 1-based breath number (the last one once done). */
  breath: number;
  /** Whole seconds left in this phase (0 once done). */
  secondsLeft: number;
}

const CYCLE_MS = BREATH_IN_MS + BREATH_OUT_MS;

export function breathingAt(elapsedMs: number, sessionMs = BREATHING_SESSION_MS): BreathingState {
  const elapsed = Math.max(0, elapsedMs);
  if (elapsed >= sessionMs) return { phase: 'done', breath: Math.ceil(sessionMs / CYCLE_MS), secondsLeft: 0 };
  const inCycle = elapsed % CYCLE_MS;
  const breath = Math.floor(elapsed / CYCLE_MS) + 1;
  return inCycle < BREATH_IN_MS
    ? { phase: 'in', breath, secondsLeft: Math.ceil((BREATH_IN_MS - inCycle) / 1000) }
    : { phase: 'out', breath, secondsLeft: Math.ceil((CYCLE_MS - inCycle) / 1000) };
}

/** A vibration pattern for the start of each phase: one short pulse to breathe in, two to breathe out. */
export function phaseVibration(phase: BreathPhase): number[] {
  if (phase === 'in') return [80];
  if (phase === 'out') return [60, 80, 60];
  return [];
}
