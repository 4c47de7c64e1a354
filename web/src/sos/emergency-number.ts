/**
 * The local emergency number the SOS screen offers as a `tel:` link. The user can change it in Settings; this is
 * only the default, picked from the region of the browser's language (en-GB → GB). 112 is the default elsewhere:
 * it is the EU number and GSM phones route it in most countries. The table lists the general or ambulance number
 * where a country has several. It is a default the user sees and can correct in Settings, never a promise: a wrong
 * crisis number is a known failure of safety apps (docs/safety-practice.md), so the Settings screen shows it prominently.
 */
import { localeRegion } from './locale-region.ts';

const BY_REGION: Readonly<Record<string, string>> = {
  US: '911',
  CA: '911',
  MX: '911',
  PH: '911',
  AR: '911',
  GB: '999',
  IE: '112',
  HK: '999',
  MY: '999',
  SG: '995',
  KE: '999',
  AU: '000',
  NZ: '111',
  IN: '112',
  JP: '119',
  KR: '119',
  CN: '120',
  TW: '119',
  BR: '192',
  ZA: '112',
  NG: '112',
  EG: '123',
  PK: '1122',
  BD: '999',
  ID: '112',
  TH: '1669',
  VN: '115',
  RU: '112',
  TR: '112',
  IL: '101',
  SA: '997',
  AE: '998',
};

export const FALLBACK_EMERGENCY_NUMBER = '112';

/** `languages` as navigator.languages: the first with a region decides. */
export function defaultEmergencyNumber(languages: readonly string[]): string {
  return emergencyNumberForRegion(localeRegion(languages));
}

/** The region's number (ISO 3166-1 alpha-2), or 112 for a region not in the table or none. */
export function emergencyNumberForRegion(region: string | null): string {
  return (region === null ? undefined : BY_REGION[region]) ?? FALLBACK_EMERGENCY_NUMBER;
}
