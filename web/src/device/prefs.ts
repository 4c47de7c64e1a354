/**
 * Device-only preferences: the profile name used in SOS texts, the countdown, the emergency number, the cancel
 * and duress PINs (hashed), silent SOS, the last known position and onboarding state. They are read synchronously at the
 * moment SOS is pressed, so they live in localStorage (parsed on every read), not in IndexedDB; none of them is
 * needed by the service worker, and none is synced as such. The PIN hashes (never the PINs) also go to the
 * account through `settings.update@1`, so the server can check an SMS "SAFE <code> <PIN>" (pin-verifiers.ts).
 */
import * as z from 'zod/mini';
import { createSignal, type Accessor } from 'solid-js';
import { EMERGENCY_NUMBER_PATTERN } from '@vitalwatch/schema/phone-patterns';
import { defaultEmergencyNumber } from '../sos/emergency-number.ts';

const PinHash = z.strictObject({ salt: z.string(), hash: z.string(), iterations: z.int() });
export type PinHash = z.infer<typeof PinHash>;

const Fix = z.strictObject({ lat: z.number(), lng: z.number(), accuracyM: z.number(), at: z.number() });

export const Prefs = z.strictObject({
  name: z.string(),
  countdownSeconds: z.int().check(z.minimum(0), z.maximum(10)),
  emergencyNumber: z.string().check(z.regex(new RegExp(EMERGENCY_NUMBER_PATTERN))),
  cancelPin: z.nullable(PinHash),
  duressPin: z.nullable(PinHash),
  lastFix: z.nullable(Fix),
  onboarded: z.boolean(),
  /** Silent SOS: no alarm sound, no vibration, a dim screen. Read only through sos/sos-settings.ts. */
  silentSos: z.boolean(),
  /** The local database (its `clientId`) whose outbox carries the current PIN hashes to the account. */
  pinsQueuedIn: z.nullable(z.string()),
});
export type Prefs = z.infer<typeof Prefs>;

const KEY = 'vitalwatch.prefs.v1';

export function defaultPrefs(): Prefs {
  return {
    name: '',
    countdownSeconds: 5,
    emergencyNumber: defaultEmergencyNumber(navigator.languages),
    cancelPin: null,
    duressPin: null,
    lastFix: null,
    onboarded: false,
    silentSos: false,
    pinsQueuedIn: null,
  };
}

function load(): Prefs {
  const defaults = defaultPrefs();
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    // Field by field, so one bad value (an older build's shape) falls back alone instead of losing everything.
    const stored = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const merged: Record<string, unknown> = { ...defaults };
    for (const key of Object.keys(defaults) as Array<keyof Prefs>) {
      const candidate = { ...merged, [key]: stored[key] };
      if (Prefs.safeParse(candidate).success) merged[key] = stored[key];
    }
    return Prefs.parse(merged);
  } catch {
    return defaults;
  }
}

export interface PrefsStore {
  readonly prefs: Accessor<Prefs>;
  /** Throws (before saving anything) if the result would be invalid. */
  update(patch: Partial<Prefs>): void;
}

export function createPrefs(): PrefsStore {
  const [prefs, setPrefs] = createSignal(load());
  return {
    prefs,
    update(patch) {
      const next = Prefs.parse({ ...prefs(), ...patch });
      localStorage.setItem(KEY, JSON.stringify(next));
      setPrefs(next);
    },
  };
}
