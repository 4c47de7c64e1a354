/**
 * What the SOS flow and the screens read about the user's set-up, in two parts (issue #14, SPEC SO40–SO41):
 *
 * - **Settings**, one synced record for all the user's devices: the name alerts carry, the countdown, the emergency
 *   number, the region, silent SOS, escalation and sharing. They are the local `user_settings` row (written only by
 *   `settings.update@1`, pulled from the account), with defaults for anything not set, so they work offline on
 *   first use. The SOS reads them synchronously at the moment it is pressed, so this store keeps an in-memory copy
 *   of the row (a Dexie live query follows it) and a mirror of it in localStorage that is there before IndexedDB
 *   has opened (the first paint, the `/?sos=1` shortcut).
 * - **Device prefs**, this phone's alone, in localStorage: the cancel and duress PIN hashes it checks (the account
 *   keeps verifiers of them, ADR 0011), the last known position and whether this phone has been through onboarding.
 *
 * `prefs()` gives both as one object, so a reader never has to know which part a value comes from; `settings()`
 * gives the record with its defaults marked. Settings change only through `updateSettings` (the mutator), device
 * prefs through `update`.
 */
import * as z from 'zod/mini';
import { createSignal, type Accessor } from 'solid-js';
import { liveQuery } from 'dexie';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { SettingsRow } from '@vitalwatch/schema/protocol/rows';
import { emergencyNumberForRegion } from '../sos/emergency-number.ts';
import { localeRegion } from '../sos/locale-region.ts';
import { DEFAULT_SETTINGS, LOCAL_SETTINGS_ID } from '../sync/apply-mutation.ts';
import type { LocalDb } from '../sync/local-db.ts';
import type { Mutators } from '../sync/mutators.ts';

const PinHash = z.strictObject({ salt: z.string(), hash: z.string(), iterations: z.int() });
export type PinHash = z.infer<typeof PinHash>;

const Fix = z.strictObject({ lat: z.number(), lng: z.number(), accuracyM: z.number(), at: z.number() });

/** This phone's own preferences (never synced as such). */
export const DevicePrefs = z.strictObject({
  cancelPin: z.nullable(PinHash),
  duressPin: z.nullable(PinHash),
  lastFix: z.nullable(Fix),
  onboarded: z.boolean(),
  /** The local database (its `clientId`) whose outbox carries the current PIN hashes to the account. */
  pinsQueuedIn: z.nullable(z.string()),
});
export type DevicePrefs = z.infer<typeof DevicePrefs>;

/** The synced SOS settings as the app uses them: every value present, defaults applied. */
export interface SosSettings {
  /** The name alerts carry; '' = none yet (alerts then say none). */
  readonly name: string;
  readonly countdownSeconds: number;
  /** The number the SOS screen offers to call: the user's, or the region's default. */
  readonly emergencyNumber: string;
  /** True while the emergency number is the region's default (the user never set one). */
  readonly emergencyNumberIsDefault: boolean;
  /** The region the user confirmed (ISO 3166-1 alpha-2), else the phone's language's; null = unknown. */
  readonly region: string | null;
  /** True until the user confirmed a region. */
  readonly regionIsDefault: boolean;
  /** SOS with no alarm sound, no vibration and a dim screen. */
  readonly silentSos: boolean;
  readonly escalateTier2AfterSeconds: number;
  readonly escalateAllAfterSeconds: number;
  readonly shareLocationWithContacts: boolean;
  readonly cancelPinSet: boolean;
  readonly duressPinSet: boolean;
}

/** Everything a reader needs, device prefs and settings together. */
export type Prefs = DevicePrefs & SosSettings;

export type SettingsFields = MutatorArgs<'settings.update@1'>['fields'];

/** What the settings depend on: a settings row, or nothing yet. */
type Mirror = Omit<SettingsRow, 'id' | 'version' | 'updatedAt'>;
type StoredRow = { [K in keyof Mirror]?: Exclude<Mirror[K], undefined> };

export const PREFS_KEY = 'vitalwatch.prefs.v1';
export const SETTINGS_MIRROR_KEY = 'vitalwatch.settings.v1';

export function defaultDevicePrefs(): DevicePrefs {
  return { cancelPin: null, duressPin: null, lastFix: null, onboarded: false, pinsQueuedIn: null };
}

/**
 * The settings with defaults applied (SPEC SO41): the countdown 5 s, escalation 2 and 5 minutes, no name, the
 * region of the phone's language and that region's emergency number.
 */
export function sosSettings(row: Mirror | null, languages: readonly string[]): SosSettings {
  // Extra fields of the row ride along unread; only SosSettings' fields are promised.
  // A stored row's absent field is absent, never `undefined` (IndexedDB and JSON keep no undefined values), which
  // zod's inferred `?: T | undefined` cannot say.
  const r = { ...DEFAULT_SETTINGS, name: '', silentSos: false, ...(row as StoredRow | null) };
  // Absent or null (never '': the mutator refuses it) = not chosen.
  const region = r.region ?? localeRegion(languages);
  return {
    ...r,
    countdownSeconds: r.sosCountdownSeconds,
    emergencyNumber: r.emergencyNumber ?? emergencyNumberForRegion(region),
    emergencyNumberIsDefault: !r.emergencyNumber,
    region,
    regionIsDefault: !r.region,
  };
}

/** The account's row when the device has one, else the row set before any account (LOCAL_SETTINGS_ID). */
export function currentSettingsRow(rows: readonly SettingsRow[]): SettingsRow | undefined {
  // A database holds one account's row at most (bindUser), so any other row is the device-only one.
  return rows.find((r) => r.id !== LOCAL_SETTINGS_ID) ?? rows[0];
}

function loadDevicePrefs(storage: Storage): DevicePrefs {
  const defaults = defaultDevicePrefs();
  try {
    const raw: unknown = JSON.parse(storage.getItem(PREFS_KEY) ?? 'null');
    // Field by field, so one bad value (an older build's shape) falls back alone instead of losing everything;
    // fields that moved to the synced settings (name, countdown, emergency number) are left for the migration.
    const stored = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const merged: Record<string, unknown> = { ...defaults };
    for (const key of Object.keys(defaults) as Array<keyof DevicePrefs>) {
      const candidate = { ...merged, [key]: stored[key] };
      if (DevicePrefs.safeParse(candidate).success) merged[key] = stored[key];
    }
    return DevicePrefs.parse(merged);
  } catch {
    return defaults;
  }
}

function loadMirror(storage: Storage): Mirror | null {
  try {
    // The mirror is the row as stored (and parses as one), so it is checked with the row's own schema.
    const parsed = SettingsRow.safeParse(JSON.parse(storage.getItem(SETTINGS_MIRROR_KEY) ?? 'null'));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** This phone's device prefs alone (what the PIN code needs). */
export interface DevicePrefsStore {
  readonly prefs: Accessor<Prefs>;
  /** Throws (before saving anything) if the result would be invalid. */
  update(patch: Partial<DevicePrefs>): void;
}

export interface PrefsStore extends DevicePrefsStore {
  /** The synced SOS settings, defaults applied; synchronous (read at the moment SOS is pressed). */
  readonly settings: Accessor<SosSettings>;
  /**
   * Changes settings for all the user's devices (`settings.update@1`, queued until signed in). Resolves once the
   * local row and `settings()` show the change. Bad values throw before anything is written.
   */
  updateSettings(fields: SettingsFields): Promise<void>;
}

export interface PrefsDeps {
  readonly db: LocalDb;
  readonly mutators: Pick<Mutators, 'updateSettings'>;
  readonly storage?: Storage;
  readonly languages?: readonly string[];
  /** Follows the local settings rows (by default Dexie's liveQuery, for the page's lifetime). */
  readonly watch?: (onRows: (rows: SettingsRow[]) => void) => void;
}

export function createPrefs(deps: PrefsDeps): PrefsStore {
  const storage = deps.storage ?? localStorage;
  const languages = deps.languages ?? navigator.languages;
  const [device, setDevice] = createSignal(loadDevicePrefs(storage));
  const [row, setRow] = createSignal<Mirror | null>(loadMirror(storage));
  const settings = () => sosSettings(row(), languages);

  const take = (rows: readonly SettingsRow[]) => {
    const current = currentSettingsRow(rows);
    if (!current) return;
    setRow(current);
    storage.setItem(SETTINGS_MIRROR_KEY, JSON.stringify(current));
  };
  const watch =
    deps.watch ??
    ((onRows) =>
      liveQuery(() => deps.db.user_settings.toArray()).subscribe({ next: onRows, error: console.error }));
  watch(take);

  return {
    prefs: () => ({ ...device(), ...settings() }),
    settings,
    update(patch) {
      const next = DevicePrefs.parse({ ...device(), ...patch });
      storage.setItem(PREFS_KEY, JSON.stringify(next));
      setDevice(next);
    },
    async updateSettings(fields) {
      await deps.mutators.updateSettings({ fields });
      take(await deps.db.user_settings.toArray());
    },
  };
}
