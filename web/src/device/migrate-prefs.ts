/**
 * Once per phone (SPEC SO43): the name, countdown and emergency number that builds before issue #14 kept in this
 * phone's localStorage move into the synced settings record, so the user's other devices get them. Only values the
 * user chose are moved: a default (countdown 5, no name, the language's emergency number) is left out, so a phone
 * that never changed anything does not overwrite what the user set on another device. The old fields are removed
 * from localStorage in the same step (the rest of the device prefs stay), so a second run finds nothing to move;
 * a crash in between moves the same values again, which changes nothing.
 */
import { EMERGENCY_NUMBER_PATTERN } from '@vitalwatch/schema/phone-patterns';
import { MAX_NAME_LENGTH } from '@vitalwatch/schema/settings-patterns';
import type { SettingsFields } from './prefs.ts';

/**
 * Where the prefs live and what counts as a default, given by the caller: this module imports nothing the first
 * visit loads, so its `import()` adds nothing to the entry bundle.
 */
export interface LegacyPrefsPlace {
  readonly storage: Storage;
  /** The localStorage key of the device prefs (prefs.ts PREFS_KEY). */
  readonly key: string;
  /** The emergency number the phone's language gives: a stored value equal to it was never chosen. */
  readonly defaultEmergencyNumber: string;
}

/** The fields that moved, as older builds stored them. */
const LEGACY_FIELDS = ['name', 'countdownSeconds', 'emergencyNumber'] as const;

export function hasLegacyPrefs(place: Pick<LegacyPrefsPlace, 'storage' | 'key'>): boolean {
  const stored = readStored(place);
  return stored !== null && LEGACY_FIELDS.some((field) => field in stored);
}

function readStored({
  storage,
  key,
}: Pick<LegacyPrefsPlace, 'storage' | 'key'>): Record<string, unknown> | null {
  try {
    const raw: unknown = JSON.parse(storage.getItem(key) ?? 'null');
    return typeof raw === 'object' && raw !== null && !Array.isArray(raw)
      ? (raw as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** What the legacy prefs say the user chose, as settings fields (invalid or default values left out). */
export function legacySettingsFields(
  stored: Record<string, unknown>,
  defaultEmergencyNumber: string,
): SettingsFields {
  const { name, countdownSeconds, emergencyNumber } = stored;
  const fields: SettingsFields = {};
  if (typeof name === 'string' && name.trim() !== '') fields.name = name.trim().slice(0, MAX_NAME_LENGTH);
  if (Number.isInteger(countdownSeconds) && typeof countdownSeconds === 'number') {
    if (countdownSeconds >= 0 && countdownSeconds <= 10 && countdownSeconds !== 5) {
      fields.sosCountdownSeconds = countdownSeconds;
    }
  }
  if (
    typeof emergencyNumber === 'string' &&
    new RegExp(EMERGENCY_NUMBER_PATTERN).test(emergencyNumber) &&
    emergencyNumber !== defaultEmergencyNumber
  ) {
    fields.emergencyNumber = emergencyNumber;
  }
  return fields;
}

/** Moves the legacy values into the synced settings (through `updateSettings`), then drops them from storage. */
export async function migrateLegacyPrefs(
  place: LegacyPrefsPlace,
  updateSettings: (fields: SettingsFields) => Promise<void>,
): Promise<SettingsFields> {
  const stored = readStored(place);
  if (stored === null) return {};
  const fields = legacySettingsFields(stored, place.defaultEmergencyNumber);
  if (Object.keys(fields).length > 0) await updateSettings(fields);
  const rest = Object.fromEntries(
    Object.entries(stored).filter(([key]) => !(LEGACY_FIELDS as readonly string[]).includes(key)),
  );
  place.storage.setItem(place.key, JSON.stringify(rest));
  return fields;
}
