/**
 * The SMS the device asks the messaging app to send when the server cannot be reached (issue #4 §3). A web page
 * cannot send an SMS: it opens the composer with an `sms:` link and the user presses Send, so the app records
 * "composer opened", never "sent".
 *
 * The text is one GSM-7 segment of at most 150 characters (SPEC SO3), and holds the incident code, coordinates to
 * 5 decimals, accuracy, the local time with its UTC offset and the day (`18:07 UTC+3 7 Dec`) and how to acknowledge
 * ("Reply OK A7F3"). When it would be too long the parts that matter least go first: the sender's name is cut at a
 * word boundary, then "via VitalWatch" and the map host go.
 */
import { isGsm7, SOS_SMS_MAX_CHARS } from '@vitalwatch/schema/sms/gsm7';
import { fitName, smsName } from '@vitalwatch/schema/sms/sms-name';
import { smsTime } from '@vitalwatch/schema/sms/sms-time';
import { formatAge, type BestFix } from './location-fix.ts';

export interface SosSmsInput {
  code: string;
  /** The user's name from the local profile; may be empty. */
  name: string;
  best: BestFix | null;
  /** Send time, ms. */
  now: number;
  /** The phone's UTC offset at `now`, minutes east (deviceUtcOffsetMinutes). */
  utcOffsetMinutes: number;
}

function place(best: BestFix | null, now: number, withMapHost: boolean): string {
  if (best === null) return 'Location unknown.';
  const { lat, lng, accuracyM, at } = best.fix;
  const coords = `${lat.toFixed(5)},${lng.toFixed(5)}`;
  const where = withMapHost ? `maps.google.com/?q=${coords}` : coords;
  const age = best.source === 'last-known' ? ` last known ${formatAge(now - at)}` : '';
  return `${where} acc ${Math.round(accuracyM)}m${age}.`;
}

export function buildSosSms({ code, name, best, now, utcOffsetMinutes }: SosSmsInput): string {
  const time = smsTime(now, utcOffsetMinutes);
  const from = (n: string) => (n === '' ? 'SOS' : `SOS from ${n}`);
  const attempts: Array<(n: string) => string> = [
    (n) => `${from(n)} via VitalWatch. I need help! ${place(best, now, true)} ${time}. Reply OK ${code}`,
    (n) => `${from(n)}. I need help! ${place(best, now, true)} ${time}. Reply OK ${code}`,
    (n) => `${from(n)}. I need help! ${place(best, now, false)} ${time}. Reply OK ${code}`,
  ];
  for (const make of attempts) {
    const text = fitName(make, name, SOS_SMS_MAX_CHARS);
    if (text !== null) return text;
  }
  // No room for any of the name: the text without it still says who to answer and when.
  const nameless = attempts[2]?.('') ?? '';
  if (nameless.length <= SOS_SMS_MAX_CHARS) return nameless;
  return `SOS! I need help! ${place(best, now, false)} Reply OK ${code}`.slice(0, SOS_SMS_MAX_CHARS);
}

/** The all-clear the user can send after "I'm safe" when offline. */
export function buildAllClearSms({ code, name, now, utcOffsetMinutes }: Omit<SosSmsInput, 'best'>): string {
  const cleanName = smsName(name, 40) || 'VitalWatch user';
  return `All clear from ${cleanName}: I am safe now (${smsTime(now, utcOffsetMinutes)}). No need to act on alert ${code}.`;
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
 * RFC 5724 `sms:` URI for one recipient (SPEC SO2): several numbers in one link make many Android messaging apps
 * send a group MMS, which needs mobile data (docs/safety-practice.md). iOS has taken `&body=` where the RFC says `?body=`;
 * pass `ios: true` there. The text is also shown and copyable, since devices differ.
 */
export function smsUri(number: string, body: string, options: { ios?: boolean } = {}): string {
  const separator = options.ios === true ? '&' : '?';
  return `sms:${number}${separator}body=${encodeURIComponent(body)}`;
}

export function isIos(userAgent: string): boolean {
  return /iPhone|iPad|iPod/.test(userAgent);
}
