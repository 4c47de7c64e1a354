import { describe, expect, it } from 'vitest';
import { isGsm7, SOS_SMS_MAX_CHARS } from '@vitalwatch/schema/sms/gsm7';
import { alertPush, alertSms, type AlertTextInput } from './alert-text.ts';

const AT = new Date(Date.UTC(2026, 11, 7, 15, 7));
const BASE: AlertTextInput = {
  kind: 'alert',
  name: 'Ama',
  code: 'A7F3',
  triggeredAt: AT,
  receivedAt: AT,
  utcOffsetMinutes: 180,
  location: { lat: 51.507351, lng: -0.127758, accuracyM: 12, at: AT },
  link: null,
  duress: false,
};

const NAMES = [
  '',
  'Алёна Петровна',
  '王小明',
  'Zoë “Dragonfly” Ørsted-Kowalczyk 🐉',
  'Maria Fernanda Gonzalez de la Cruz Villanueva Santos',
  'x'.repeat(120),
];

describe("the server's SMS words", () => {
  it('[SO3] show the local time with its UTC offset, and UTC for an app that sent none', () => {
    expect(alertSms(BASE)).toBe(
      'SOS from Ama: needs help! maps.google.com/?q=51.50735,-0.12776 acc 12m. 18:07 UTC+3 7 Dec. Reply OK A7F3',
    );
    expect(alertSms({ ...BASE, utcOffsetMinutes: null })).toContain(' 15:07 UTC 7 Dec.');
  });

  it('[SO3] an alert stays one GSM-7 segment of at most 150 characters over long and non-GSM names, the name cut at a word boundary', () => {
    for (const name of NAMES)
      for (const kind of ['alert', 'escalation'] as const)
        for (const utcOffsetMinutes of [-570, 0, 345, 765]) {
          const text = alertSms({ ...BASE, kind, name, utcOffsetMinutes });
          expect(isGsm7(text), text).toBe(true);
          expect(text.length, text).toBeLessThanOrEqual(SOS_SMS_MAX_CHARS);
        }
    const text = alertSms({ ...BASE, kind: 'escalation', name: NAMES[4]! });
    const shown = /^SOS from (.+), nobody has answered yet:/.exec(text)![1]!;
    expect(NAMES[4]!.startsWith(shown)).toBe(true);
    expect(NAMES[4]![shown.length]).toBe(' ');
  });

  it('[SO3] every field at its longest (link, duress, late, far south-west) is still GSM-7 with the code and the link', () => {
    for (const name of NAMES) {
      const input: AlertTextInput = {
        ...BASE,
        name,
        code: 'WXYZ2345',
        receivedAt: new Date(AT.getTime() + 3_600_000),
        utcOffsetMinutes: 765,
        location: { lat: -89.999999, lng: -179.999999, accuracyM: 999_999, at: AT },
        link: 'https://vitalwatch.example.org/a/AbCdEfGhIjKlMnOp',
        duress: true,
      };
      for (const kind of ['alert', 'escalation', 'location_update', 'all_clear'] as const) {
        const text = alertSms({ ...input, kind });
        expect(isGsm7(text), text).toBe(true);
        expect(text).toContain('WXYZ2345');
        expect(isGsm7(alertPush({ ...input, kind }).body)).toBe(true);
      }
      expect(alertSms({ ...input, kind: 'alert' })).toMatch(
        /Reply OK WXYZ2345 or https:\/\/vitalwatch\.example\.org\/a\/AbCdEfGhIjKlMnOp$/,
      );
    }
  });
});
