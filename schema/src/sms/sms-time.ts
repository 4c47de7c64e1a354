/**
 * A time as SMS texts show it: the sender's local time with its UTC offset and the local day, e.g.
 * `18:07 UTC+3 7 Dec`, `09:15 UTC+5:30 8 Dec`, `14:03 UTC 25 Nov`. A contact in another zone can still work out
 * when it was; one in the same zone reads it as their own clock. GSM-7 characters only.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Offsets in use run from UTC-12 to UTC+14; anything else is not a clock's offset. */
export const MIN_UTC_OFFSET_MINUTES = -12 * 60;
export const MAX_UTC_OFFSET_MINUTES = 14 * 60;

function offsetLabel(minutes: number): string {
  if (minutes === 0) return 'UTC';
  const sign = minutes > 0 ? '+' : '-';
  const abs = Math.abs(minutes);
  const mm = abs % 60;
  return `UTC${sign}${Math.floor(abs / 60)}${mm === 0 ? '' : `:${String(mm).padStart(2, '0')}`}`;
}

/**
 * `utcOffsetMinutes` is east of UTC (UTC+3 → 180), i.e. `-new Date().getTimezoneOffset()`. An offset outside
 * the real range, or not a whole minute, is shown as UTC rather than as a wrong local time.
 */
export function smsTime(ms: number, utcOffsetMinutes: number): string {
  const offset =
    Number.isInteger(utcOffsetMinutes) &&
    utcOffsetMinutes >= MIN_UTC_OFFSET_MINUTES &&
    utcOffsetMinutes <= MAX_UTC_OFFSET_MINUTES
      ? utcOffsetMinutes
      : 0;
  const local = new Date(ms + offset * 60_000);
  const hh = String(local.getUTCHours()).padStart(2, '0');
  const mm = String(local.getUTCMinutes()).padStart(2, '0');
  return `${hh}:${mm} ${offsetLabel(offset)} ${local.getUTCDate()} ${MONTHS[local.getUTCMonth()] ?? ''}`;
}

/** The device's own offset at `ms` (east of UTC, minutes), as `smsTime` takes it. */
export function deviceUtcOffsetMinutes(ms: number): number {
  // `+ 0` turns the -0 of a UTC device into 0.
  return -new Date(ms).getTimezoneOffset() + 0;
}
