/** A time as SMS texts show it, short and unambiguous across time zones: `14:03 UTC 25 Nov`. */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function utcStamp(ms: number): string {
  const d = new Date(ms);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${hh}:${mm} UTC ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()] ?? ''}`;
}
