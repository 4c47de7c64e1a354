/** A position as the SOS flow uses it (a Geolocation fix, stored as the last known one). */
export interface LocationFix {
  lat: number;
  lng: number;
  accuracyM: number;
  /** When the fix was taken, ms since the epoch. */
  at: number;
}

/** The fix the SOS flow sends: fresh, or the last known one with how old it was at send time. */
export interface BestFix {
  fix: LocationFix;
  /** `fresh`: from Geolocation within its budget; `last-known`: stored earlier. */
  source: 'fresh' | 'last-known';
}

export function formatAge(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}
