/**
 * The regions a user can pick (every region libphonenumber knows, so a picked region always reads phone numbers),
 * named in the phone's language, sorted by name. In the lazy chunks of onboarding and Settings only.
 */
import { getCountries } from 'libphonenumber-js/min';

export interface RegionChoice {
  readonly code: string;
  readonly name: string;
}

export function regionName(code: string, languages: readonly string[] = navigator.languages): string {
  try {
    return new Intl.DisplayNames([...languages, 'en'], { type: 'region' }).of(code) ?? code;
  } catch {
    return code;
  }
}

export function regionChoices(languages: readonly string[] = navigator.languages): RegionChoice[] {
  return getCountries()
    .map((code) => ({ code, name: regionName(code, languages) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
