/**
 * Positions for the SOS flow. `watchBestFix` starts asking at the moment SOS is pressed, so by the end of the
 * countdown a fresh fix is usually there; the incident is committed with whatever is best at that moment (fresh,
 * else the last known fix with its age) and never waits for Geolocation. Every fix is remembered as the last
 * known one.
 */
import type { BestFix, LocationFix } from '../sos/location-fix.ts';

/** Geolocation gets this long per request (issue #4 §3). */
export const FIX_BUDGET_MS = 3_000;

export function currentFix(budgetMs = FIX_BUDGET_MS): Promise<LocationFix | null> {
  return new Promise((resolve) => {
    if (!('geolocation' in navigator)) {
      resolve(null);
      return;
    }
    const timer = setTimeout(() => resolve(null), budgetMs + 250);
    navigator.geolocation.getCurrentPosition(
      (position) => {
        clearTimeout(timer);
        resolve({
          lat: position.coords.latitude,
          lng: position.coords.longitude,
          accuracyM: position.coords.accuracy,
          at: position.timestamp,
        });
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
      { enableHighAccuracy: true, timeout: budgetMs, maximumAge: 30_000 },
    );
  });
}

export interface FixTracker {
  /** The best fix now: fresh if one arrived, else the last known one. */
  best(): BestFix | null;
  /** Resolves with the fresh fix, or null after the budget. */
  readonly fresh: Promise<LocationFix | null>;
}

export function trackBestFix(
  lastKnown: LocationFix | null,
  remember: (fix: LocationFix) => void,
): FixTracker {
  let freshFix: LocationFix | null = null;
  const fresh = currentFix().then((fix) => {
    if (fix !== null) {
      freshFix = fix;
      remember(fix);
    }
    return fix;
  });
  return {
    best() {
      if (freshFix !== null) return { fix: freshFix, source: 'fresh' };
      return lastKnown === null ? null : { fix: lastKnown, source: 'last-known' };
    },
    fresh,
  };
}
