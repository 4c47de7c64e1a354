/**
 * Every crisis-line number can be dialled (SPEC WB2), checked with libphonenumber-js's full metadata: an E.164
 * number is a valid number of the entry's own region, and the form people read (`display`) is the same number
 * when typed in that region; a short code really is short there (not a full number with digits missing) and is
 * not the region's emergency number (that one is shown beside the line, not as it).
 */
import { describe, expect, it } from 'vitest';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { CRISIS_LINES } from '@vitalwatch/schema/crisis-lines/crisis-lines';
import type { CrisisNumber } from '@vitalwatch/schema/crisis-lines/crisis-line';
import { E164_PATTERN, SHORT_CODE_PATTERN } from '@vitalwatch/schema/crisis-lines/validate-crisis-line';
import { emergencyNumberForRegion } from '../sos/emergency-number.ts';

function numberProblem(region: string, n: CrisisNumber): string | null {
  const country = region as CountryCode;
  if (E164_PATTERN.test(n.dial)) {
    const parsed = parsePhoneNumberFromString(n.dial);
    if (parsed === undefined || !parsed.isValid()) return `${region} ${n.dial}: not a valid number`;
    if (parsed.country !== country) return `${region} ${n.dial}: a number of ${parsed.country ?? '?'}`;
    const shown = parsePhoneNumberFromString(n.display, country);
    if (shown?.number !== n.dial)
      return `${region} ${n.dial}: shown as "${n.display}", which reads as ${shown?.number}`;
    return null;
  }
  if (!SHORT_CODE_PATTERN.test(n.dial)) return `${region} ${n.dial}: neither E.164 nor a short code`;
  if (parsePhoneNumberFromString(n.dial, country)?.isValid() === true) {
    return `${region} ${n.dial}: a full number there, store it as E.164`;
  }
  if (n.dial === emergencyNumberForRegion(region)) return `${region} ${n.dial}: the emergency number`;
  return null;
}

describe('crisis-line numbers', () => {
  it('[WB2] every number to call or text is valid E.164 of its region (shown as the same number) or a short code there', () => {
    const problems = CRISIS_LINES.flatMap((line) =>
      [...line.calls, ...line.texts].map((n) => numberProblem(line.region, n)).filter((p) => p !== null),
    );
    expect(problems).toEqual([]);
  });

  it('[WB2] the check catches a typo between the two forms, a number of another country and a truncated number', () => {
    expect(numberProblem('ZA', { dial: '+27800456789', display: '0800 456 788' })).toMatch(
      /reads as \+27800456788/,
    );
    expect(numberProblem('KE', { dial: '+27800456789', display: '0800 456 789' })).toBe(
      'KE +27800456789: a number of ZA',
    );
    expect(numberProblem('ZA', { dial: '+2780045678', display: '0800 45678' })).toBe(
      'ZA +2780045678: not a valid number',
    );
    expect(numberProblem('KE', { dial: '999', display: '999' })).toBe('KE 999: the emergency number');
    expect(numberProblem('AU', { dial: '131114', display: '13 11 14' })).toBe(
      'AU 131114: a full number there, store it as E.164',
    );
  });
});
