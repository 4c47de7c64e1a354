/**
 * While an incident is open the device records its position: every 60 s for the first 10 minutes, then every
 * 5 minutes (docs/safety-practice.md). Each fix is an `incident.event@1` of type `location`, stored locally and synced.
 */
export const FAST_INTERVAL_MS = 60_000;
export const FAST_PHASE_MS = 10 * 60_000;
export const SLOW_INTERVAL_MS = 5 * 60_000;

/** Delay until the next fix, given how long the incident has been open. */
export function nextLocationDelayMs(openForMs: number): number {
  return openForMs < FAST_PHASE_MS ? FAST_INTERVAL_MS : SLOW_INTERVAL_MS;
}
