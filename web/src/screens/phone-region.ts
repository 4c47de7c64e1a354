/**
 * The region that numbers typed without a country code belong to (SPEC SO5). The phone's time zone says where
 * the phone is set up far better than its language: most phones run in English (en-US) wherever they are, so a
 * Kenyan phone in en-US would read "0712 345678" as an American number. So: the country of the time zone
 * (countries-and-timezones, from the IANA zone table), preferring the language's region when the zone is shared
 * with it (Europe/Zurich: CH, DE, LI); then the language's region; else none (the user must type the country code).
 * Lives beside the contacts screen, in its lazy chunk: the table stays out of the first-visit bundle.
 */
import { getTimezone } from 'countries-and-timezones';
import { localeRegion } from '../sos/locale-region.ts';

export function phoneRegion(timeZone: string | undefined, languages: readonly string[]): string | null {
  const fromLanguage = localeRegion(languages);
  const countries: readonly string[] = timeZone === undefined ? [] : (getTimezone(timeZone)?.countries ?? []);
  if (fromLanguage !== null && countries.includes(fromLanguage)) return fromLanguage;
  return countries[0] ?? fromLanguage;
}

/** This phone's region, from its Intl settings and languages. */
export function devicePhoneRegion(): string | null {
  return phoneRegion(Intl.DateTimeFormat().resolvedOptions().timeZone, navigator.languages);
}
