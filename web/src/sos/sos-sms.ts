/**
 * The SMS the device asks the messaging app to send when the server cannot be reached (issue #4 §3). A web page
 * cannot send an SMS: it opens the composer with an `sms:` link and the user presses Send, so the app records
 * "composer opened", never "sent".
 *
 * The text is one GSM-7 segment of at most 150 characters, and holds the incident code, coordinates to 5 decimals,
 * accuracy, time (UTC, with the day) and how to acknowledge ("Reply OK A7F3"). When it would be too long the
 * parts that matter least go first: the sender's name shrinks, then "via VitalWatch" and the map host go.
 */
import { isGsm7, SOS_SMS_MAX_CHARS, toGsm7 } from '@vitalwatch/schema/sms/gsm7';
import { utcStamp } from '@vitalwatch/schema/sms/utc-stamp';
import { formatAge, type BestFix } from './location-fix.ts';

export interface SosSmsInput {
  code: string;
  /** The user's name from the local profile; may be empty. */
  name: string;
  best: BestFix | null;
  /** Send time, ms. */
  now: number;
}

function place(best: BestFix | null, now: number, withMapHost: boolean): string {
  if (best === null) return 'Location unknown.';
  const { lat, lng, accuracyM, at } = best.fix;
  const coords = `${lat.toFixed(5)},${lng.toFixed(5)}`;
  const where = withMapHost ? `maps.google.com/?q=${coords}` : coords;
  const age = best.source === 'last-known' ? ` last known ${formatAge(now - at)}` : '';
  return `${where} acc ${Math.round(accuracyM)}m${age}.`;
}

export function buildSosSms({ code, name, best, now }: SosSmsInput): string {
  const cleanName = toGsm7(name);
  const from = (n: string) => (n === '' ? 'SOS' : `SOS from ${n}`);
  const attempts: Array<(n: string) => string> = [
    (n) =>
      `${from(n)} via VitalWatch. I need help! ${place(best, now, true)} ${utcStamp(now)}. Reply OK ${code}`,
    (n) => `${from(n)}. I need help! ${place(best, now, true)} ${utcStamp(now)}. Reply OK ${code}`,
    (n) => `${from(n)}. I need help! ${place(best, now, false)} ${utcStamp(now)}. Reply OK ${code}`,
  ];
  for (const make of attempts) {
    const full = make(cleanName);
    if (full.length <= SOS_SMS_MAX_CHARS) return full;
    // Shorten the name as far as needed, but never below 3 characters.
    const room = SOS_SMS_MAX_CHARS - (full.length - cleanName.length);
    if (cleanName !== '' && room >= 3) return make(cleanName.slice(0, room).trim());
  }
  return `SOS! I need help! ${place(best, now, false)} Reply OK ${code}`.slice(0, SOS_SMS_MAX_CHARS);
}

/** The all-clear the user can send after "I'm safe" when offline. */
export function buildAllClearSms({ code, name, now }: Omit<SosSmsInput, 'best'>): string {
  const cleanName = toGsm7(name).slice(0, 40) || 'VitalWatch user';
  return `All clear from ${cleanName}: I am safe now (${utcStamp(now)}). No need to act on alert ${code}.`;
}

export interface SmsSegmentCheck {
  gsm7: boolean;
  length: number;
  oneSegment: boolean;
}

export function checkSmsSegment(text: string): SmsSegmentCheck {
  const gsm7 = isGsm7(text);
  return { gsm7, length: text.length, oneSegment: gsm7 && text.length <= 160 };
}

/**
 * RFC 5724 `sms:` URI for several recipients. iOS has taken `&body=` where the RFC says `?body=`; pass
 * `ios: true` there. The link is also shown and copyable, since devices differ.
 */
export function smsUri(numbers: readonly string[], body: string, options: { ios?: boolean } = {}): string {
  const separator = options.ios === true ? '&' : '?';
  return `sms:${numbers.join(',')}${separator}body=${encodeURIComponent(body)}`;
}

export function isIos(userAgent: string): boolean {
  return /iPhone|iPad|iPod/.test(userAgent);
}
