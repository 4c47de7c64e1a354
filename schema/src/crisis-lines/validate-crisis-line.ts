/**
 * The shape rules of a crisis line entry (SPEC WB1, and the form half of WB2), checked without phone metadata so
 * they run anywhere schema runs. Whether an E.164 number is a real number of its region is checked with
 * libphonenumber-js in web/src/wellbeing/crisis-line-numbers.test.ts.
 */
import type { CrisisLine, CrisisNumber } from './crisis-line.ts';

export const E164_PATTERN = /^\+[1-9]\d{6,14}$/;
/** Dialled as is inside the country: 3 to 6 digits, some with a leading star (Chile's *4141). */
export const SHORT_CODE_PATTERN = /^\*?\d{3,6}$/;

function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/** http(s), a host with a dot, no spaces (schema has no URL class: it runs without the DOM and Node types). */
function isWebAddress(value: string): boolean {
  return /^https?:\/\/[^\s/?#.]+(\.[^\s/?#.]+)+(:\d+)?([/?#]\S*)?$/.test(value);
}

function digitsOf(value: string): string {
  return value.replace(/[^\d*]/g, '');
}

function numberProblems(where: string, n: CrisisNumber): string[] {
  const problems: string[] = [];
  if (E164_PATTERN.test(n.dial)) return problems;
  if (!SHORT_CODE_PATTERN.test(n.dial)) {
    problems.push(`${where}: "${n.dial}" is neither E.164 (+ and 7 to 15 digits) nor a short code`);
  } else if (digitsOf(n.display) !== n.dial) {
    problems.push(`${where}: the short code "${n.dial}" is shown as "${n.display}"`);
  }
  return problems;
}

/**
 * Every problem with one entry, in words that name the field; empty when it is fine. `today` (YYYY-MM-DD) is the
 * latest date a check may carry: a date in the future was not observed.
 */
export function validateCrisisLine(line: CrisisLine, today: string): string[] {
  const at = line.region || '(no region)';
  const problems: string[] = [];
  if (!/^[A-Z]{2}$/.test(line.region)) problems.push(`${at}: region must be ISO 3166-1 alpha-2 in capitals`);
  if (line.name.trim() === '') problems.push(`${at}: no name`);
  if (line.hours.trim() === '') problems.push(`${at}: no hours (write "Not stated by the source")`);
  if (line.calls.length === 0) problems.push(`${at}: no number to call`);
  line.calls.forEach((n, i) => problems.push(...numberProblems(`${at} calls[${i}]`, n)));
  line.texts.forEach((n, i) => problems.push(...numberProblems(`${at} texts[${i}]`, n)));
  if (line.sources.length === 0) problems.push(`${at}: no source`);
  for (const source of line.sources) {
    if (!isWebAddress(source)) problems.push(`${at}: source "${source}" is not a web address`);
  }
  if (!isCalendarDate(line.checked)) problems.push(`${at}: checked date "${line.checked}" is not YYYY-MM-DD`);
  else if (line.checked > today) problems.push(`${at}: checked date ${line.checked} is after ${today}`);
  return problems;
}
