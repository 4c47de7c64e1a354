/**
 * The words of every alert the server sends: SMS bodies in GSM-7 only (one curly quote would turn the message
 * into UCS-2 and cut a segment from 160 to 70 characters, docs/safety-practice.md), kept to one segment when the link
 * allows, and the title/body of the Web Push notification. Each alert names the incident's code, so a contact
 * can answer "OK <code>" by SMS, and carries the contact's own `/a/<token>` link.
 */
import { SOS_SMS_MAX_CHARS } from '@vitalwatch/schema/sms/gsm7';
import { fitName, smsName } from '@vitalwatch/schema/sms/sms-name';
import { smsTime } from '@vitalwatch/schema/sms/sms-time';
import type { MessageKind } from './alert-plan.ts';

export type AlertTextInput = {
  kind: MessageKind;
  /** The user's display name; empty when unknown. */
  name: string;
  code: string;
  triggeredAt: Date;
  receivedAt: Date;
  /** The phone's UTC offset at the trigger (minutes east); null (apps before protocol 5) shows UTC (SPEC SO4). */
  utcOffsetMinutes: number | null;
  location: { lat: number; lng: number; accuracyM: number | null; at: Date } | null;
  /** The contact's `/a/<token>` page, absolute; null when the server has no PUBLIC_URL. */
  link: string | null;
  /** Cancelled with the duress PIN: the contacts must know it is still real. */
  duress: boolean;
};

/** An incident that reached the server this much later than it was triggered is labelled as delayed. */
const LATE_MS = 5 * 60_000;

function place(location: AlertTextInput['location']): string {
  if (location === null) return 'Location unknown.';
  const accuracy = location.accuracyM === null ? '' : ` acc ${Math.round(location.accuracyM)}m`;
  return `maps.google.com/?q=${location.lat.toFixed(5)},${location.lng.toFixed(5)}${accuracy}.`;
}

/** Names are cut at a word boundary (SPEC SO3), like the phone's own text. */
function who(name: string): string {
  const clean = smsName(name, 40);
  return clean === '' ? 'a VitalWatch user' : clean;
}

export function alertSms(input: AlertTextInput): string {
  const name = who(input.name);
  const offset = input.utcOffsetMinutes ?? 0;
  const when = smsTime(input.triggeredAt.getTime(), offset);
  const late =
    input.receivedAt.getTime() - input.triggeredAt.getTime() > LATE_MS ? ' (sent while offline)' : '';
  const answer = input.link === null ? `Reply OK ${input.code}` : `Reply OK ${input.code} or ${input.link}`;
  switch (input.kind) {
    case 'alert':
    case 'escalation': {
      const duress = input.duress ? ' The SOS was cancelled under duress: it is real.' : '';
      const text = (n: string) => {
        const from = n === '' ? 'a VitalWatch user' : n;
        const head =
          input.kind === 'escalation' ? `SOS from ${from}, nobody has answered yet` : `SOS from ${from}`;
        return `${head}: needs help! ${place(input.location)} ${when}${late}.${duress} ${answer}`;
      };
      // One segment when it can be (the name is cut at a word boundary to fit); a long link or every field at its
      // longest makes it two, still GSM-7.
      return fitName(text, input.name, SOS_SMS_MAX_CHARS) ?? text(name);
    }
    case 'location_update': {
      const at = input.location === null ? when : smsTime(input.location.at.getTime(), offset);
      return `${name} (alert ${input.code}) is now at ${place(input.location)} ${at}.`;
    }
    case 'all_clear':
      return `All clear from ${name}: safe now. No need to act on alert ${input.code}.`;
  }
}

export type AlertPush = { title: string; body: string };

export function alertPush(input: AlertTextInput): AlertPush {
  const name = who(input.name);
  switch (input.kind) {
    case 'alert':
    case 'escalation':
      return { title: `SOS: ${name} needs help`, body: alertSms({ ...input, link: null }) };
    case 'location_update':
      return { title: `${name}: new location`, body: alertSms(input) };
    case 'all_clear':
      return { title: `All clear from ${name}`, body: alertSms(input) };
  }
}
