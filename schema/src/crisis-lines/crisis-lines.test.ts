/**
 * The crisis-line data (issue #16 item 5): every entry carries its sources and the day they were read, the
 * coverage is weighted to where connectivity is poor, and the lookup finds a region's line. Whether each E.164
 * number is a real number of its region is web/src/wellbeing/crisis-line-numbers.test.ts (it needs
 * libphonenumber-js, a web dependency).
 */
import { describe, expect, it } from 'vitest';
import type { CrisisLine } from './crisis-line.ts';
import { CRISIS_LINE_DIRECTORY, CRISIS_LINES } from './crisis-lines.ts';
import { crisisLineFor } from './crisis-line-for.ts';
import { validateCrisisLine } from './validate-crisis-line.ts';

/** The day the entries were read (the brief's "today"); a later date would be a check nobody made. */
const TODAY = '2026-12-07';

/** UN M49 geography, for the coverage rule only. */
const AREAS: Readonly<Record<string, readonly string[]>> = {
  africa: [
    'DZ',
    'AO',
    'BJ',
    'BW',
    'BF',
    'BI',
    'CM',
    'CV',
    'CF',
    'TD',
    'KM',
    'CD',
    'CG',
    'CI',
    'DJ',
    'EG',
    'GQ',
    'ER',
    'SZ',
    'ET',
    'GA',
    'GM',
    'GH',
    'GN',
    'GW',
    'KE',
    'LS',
    'LR',
    'LY',
    'MG',
    'MW',
    'ML',
    'MR',
    'MU',
    'MA',
    'MZ',
    'NA',
    'NE',
    'NG',
    'RW',
    'ST',
    'SN',
    'SC',
    'SL',
    'SO',
    'ZA',
    'SS',
    'SD',
    'TZ',
    'TG',
    'TN',
    'UG',
    'ZM',
    'ZW',
  ],
  southAsia: ['AF', 'BD', 'BT', 'IN', 'IR', 'MV', 'NP', 'PK', 'LK'],
  southEastAsia: ['BN', 'KH', 'ID', 'LA', 'MY', 'MM', 'PH', 'SG', 'TH', 'TL', 'VN'],
  latinAmerica: [
    'AR',
    'BO',
    'BR',
    'CL',
    'CO',
    'CR',
    'CU',
    'DO',
    'EC',
    'SV',
    'GT',
    'HN',
    'HT',
    'MX',
    'NI',
    'PA',
    'PY',
    'PE',
    'UY',
    'VE',
    'JM',
    'TT',
    'BZ',
    'GY',
    'SR',
  ],
};

const line: CrisisLine = {
  region: 'KE',
  name: 'A line',
  calls: [{ dial: '1199', display: '1199' }],
  texts: [],
  hours: '24 hours',
  languages: [],
  sources: ['https://example.org/page'],
  checked: '2026-12-07',
};

describe('crisis lines', () => {
  it('[WB1] every entry has a name, hours, a number to call, at least one web source and a real checked date', () => {
    const problems = CRISIS_LINES.flatMap((l) => validateCrisisLine(l, TODAY));
    expect(problems).toEqual([]);
    // The directory offered where no line is listed carries its source and date too.
    const { name, sources, checked } = CRISIS_LINE_DIRECTORY;
    expect(validateCrisisLine({ ...line, name, sources, checked }, TODAY)).toEqual([]);
    expect(CRISIS_LINE_DIRECTORY.url).toMatch(/^https:\/\//);
  });

  it('[WB1] an entry without a source, with a missing or impossible or future date, or with no number fails', () => {
    expect(validateCrisisLine({ ...line, sources: [] }, TODAY)).toEqual(['KE: no source']);
    expect(validateCrisisLine({ ...line, sources: ['findahelpline'] }, TODAY)).toEqual([
      'KE: source "findahelpline" is not a web address',
    ]);
    expect(validateCrisisLine({ ...line, checked: '' }, TODAY)).toEqual([
      'KE: checked date "" is not YYYY-MM-DD',
    ]);
    expect(validateCrisisLine({ ...line, checked: '2026-02-30' }, TODAY)).toEqual([
      'KE: checked date "2026-02-30" is not YYYY-MM-DD',
    ]);
    expect(validateCrisisLine({ ...line, checked: '2026-12-08' }, TODAY)).toEqual([
      'KE: checked date 2026-12-08 is after 2026-12-07',
    ]);
    expect(validateCrisisLine({ ...line, calls: [] }, TODAY)).toEqual(['KE: no number to call']);
    expect(validateCrisisLine({ ...line, hours: ' ' }, TODAY)).toEqual([
      'KE: no hours (write "Not stated by the source")',
    ]);
  });

  it('[WB2] a number that is neither E.164 nor a short code, or a short code shown as other digits, fails', () => {
    expect(
      validateCrisisLine({ ...line, calls: [{ dial: '0800 456 789', display: '0800 456 789' }] }, TODAY),
    ).toEqual(['KE calls[0]: "0800 456 789" is neither E.164 (+ and 7 to 15 digits) nor a short code']);
    expect(validateCrisisLine({ ...line, calls: [{ dial: '1199', display: '1190' }] }, TODAY)).toEqual([
      'KE calls[0]: the short code "1199" is shown as "1190"',
    ]);
    expect(
      validateCrisisLine({ ...line, texts: [{ channel: 'sms', dial: 'TEXT', display: 'TEXT' }] }, TODAY),
    ).toEqual(['KE texts[0]: "TEXT" is neither E.164 (+ and 7 to 15 digits) nor a short code']);
  });

  it('[WB3] at least 40 regions, one entry each, at least 12 in Africa, South Asia, South-East Asia and Latin America', () => {
    const regions = CRISIS_LINES.map((l) => l.region);
    expect(new Set(regions).size).toBe(regions.length);
    expect(regions.length).toBeGreaterThanOrEqual(40);
    const inArea = (area: string) => regions.filter((r) => AREAS[area]?.includes(r)).length;
    const counts = {
      africa: inArea('africa'),
      southAsia: inArea('southAsia'),
      southEastAsia: inArea('southEastAsia'),
      latinAmerica: inArea('latinAmerica'),
    };
    expect(
      counts.africa + counts.southAsia + counts.southEastAsia + counts.latinAmerica,
    ).toBeGreaterThanOrEqual(12);
    // Each of the four areas has lines of its own, not only the sum.
    for (const count of Object.values(counts)) expect(count).toBeGreaterThanOrEqual(3);
  });

  it('[WB3] every region is a region the platform can name (a real ISO 3166-1 alpha-2 code)', () => {
    const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    for (const l of CRISIS_LINES)
      expect([l.region, names.of(l.region)]).toEqual([l.region, expect.any(String)]);
  });

  it('[WB4] crisisLineFor finds the region’s line in any case, and null for none, unknown or an unlisted region', () => {
    expect(crisisLineFor('KE')?.calls[0]?.dial).toBe('1199');
    expect(crisisLineFor('ke')?.region).toBe('KE');
    expect(crisisLineFor(' in ')?.name).toMatch(/Tele-MANAS/);
    expect(crisisLineFor(null)).toBeNull();
    expect(crisisLineFor('')).toBeNull();
    expect(crisisLineFor('XX')).toBeNull();
    // Not sourced, so not listed: the app offers the directory instead of a guess.
    expect(crisisLineFor('VN')).toBeNull();
  });
});
