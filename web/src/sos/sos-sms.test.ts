import { describe, expect, it } from 'vitest';
import { isGsm7, SOS_SMS_MAX_CHARS, toGsm7 } from '@vitalwatch/schema/sms/gsm7';
import { defaultEmergencyNumber } from './emergency-number.ts';
import { nextLocationDelayMs } from './location-schedule.ts';
import { buildAllClearSms, buildSosSms, checkSmsSegment, smsUri } from './sos-sms.ts';

const NOW = Date.UTC(2026, 10, 24, 14, 32, 10);
const fresh = { source: 'fresh' as const, fix: { lat: 51.507351, lng: -0.127758, accuracyM: 24.6, at: NOW } };

const EAST_AFRICA = 180;

describe('the SOS text message', () => {
  it('[SO3] holds the code, coordinates to 5 decimals, accuracy, local time with its UTC offset and the day, and the reply instruction', () => {
    const text = buildSosSms({
      code: 'A7F3',
      name: 'Ana',
      best: fresh,
      now: NOW,
      utcOffsetMinutes: EAST_AFRICA,
    });
    expect(text).toBe(
      'SOS from Ana via VitalWatch. I need help! maps.google.com/?q=51.50735,-0.12776 acc 25m. 17:32 UTC+3 24 Nov. Reply OK A7F3',
    );
    expect(checkSmsSegment(text)).toEqual({ gsm7: true, length: text.length, oneSegment: true });
  });

  it('[SO3] stays one GSM-7 segment of at most 150 characters with a long non-GSM name and worst-case coordinates', () => {
    const worst = {
      source: 'last-known' as const,
      fix: { lat: -89.123456, lng: -179.123456, accuracyM: 99_999, at: NOW - 3 * 3_600_000 },
    };
    const name = 'Zoë “Dragonfly” Ørsted-Kowalczyk 🐉 the third of her name, née Przybylska';
    const text = buildSosSms({ code: 'WXYZ', name, best: worst, now: NOW, utcOffsetMinutes: 345 });
    expect(text.length).toBeLessThanOrEqual(SOS_SMS_MAX_CHARS);
    expect(isGsm7(text)).toBe(true);
    expect(text).toContain('-89.12346,-179.12346');
    expect(text).toContain('last known 3 h ago');
    expect(text).toContain('20:17 UTC+5:45 24 Nov');
    expect(text).toContain('Reply OK WXYZ');
    expect(text).toMatch(/^SOS from Zoe /);
  });

  it('[SO3] cuts a long name at a word boundary, never inside a word', () => {
    const name = 'Maria Fernanda Gonzalez de la Cruz Villanueva Santos';
    const text = buildSosSms({ code: 'A7F3', name, best: fresh, now: NOW, utcOffsetMinutes: 0 });
    expect(text.length).toBeLessThanOrEqual(SOS_SMS_MAX_CHARS);
    const shown = /^SOS from (.+?)(?: via VitalWatch)?\. I need help!/.exec(text)?.[1] ?? '';
    expect(shown.length).toBeGreaterThan(0);
    expect(name.startsWith(shown)).toBe(true);
    expect(name[shown.length]).toBe(' ');
  });

  it('[SO3] every field at its longest, at every offset, over many names: always one GSM-7 segment ≤ 150 with the code', () => {
    const names = [
      '',
      'A',
      'Алёна Петровна Соколова',
      '王小明',
      'محمد عبد الله',
      'Ωmega Ψ Ξ-Δelta',
      'Zoë “Dragonfly” Ørsted-Kowalczyk',
      'x'.repeat(200),
      'Bartholomew-Maximilian Featherstonehaugh-Cholmondeley',
      `${'Wolfeschlegelsteinhausenbergerdorff '.repeat(4)}Sr`,
    ];
    const fixes = [
      null,
      fresh,
      {
        source: 'last-known' as const,
        fix: { lat: -89.999999, lng: -179.999999, accuracyM: 999_999, at: NOW - 99 * 24 * 3_600_000 },
      },
    ];
    for (const name of names)
      for (const best of fixes)
        for (const utcOffsetMinutes of [-720, -570, 0, 345, 525, 765, 840]) {
          const text = buildSosSms({ code: 'WXYZ2345', name, best, now: NOW, utcOffsetMinutes });
          expect(checkSmsSegment(text).oneSegment, text).toBe(true);
          expect(text.length, text).toBeLessThanOrEqual(SOS_SMS_MAX_CHARS);
          expect(text).toContain('Reply OK WXYZ2345');
        }
  });

  it('[SO3] a name with no GSM-7 letters at all leaves a text without a name, not a broken one', () => {
    const text = buildSosSms({ code: 'CDEF', name: '王小明', best: fresh, now: NOW, utcOffsetMinutes: 480 });
    expect(text).toMatch(/^SOS via VitalWatch\. I need help! /);
    expect(text).toContain('22:32 UTC+8 24 Nov');
  });

  it('says so when no location is known', () => {
    const text = buildSosSms({ code: 'CDEF', name: '', best: null, now: NOW, utcOffsetMinutes: 0 });
    expect(text).toMatch(/^SOS via VitalWatch\. I need help! Location unknown\. /);
    expect(text).toContain('Reply OK CDEF');
    expect(isGsm7(text)).toBe(true);
  });

  it('[SO3] the all-clear is one GSM-7 segment too, with local time and a name cut at a word boundary', () => {
    const text = buildAllClearSms({
      code: 'A7F3',
      name: 'Bartholomew Maximilian Featherstonehaughs',
      now: NOW,
      utcOffsetMinutes: -300,
    });
    expect(checkSmsSegment(text).oneSegment).toBe(true);
    expect(text).toBe(
      'All clear from Bartholomew Maximilian: I am safe now (09:32 UTC-5 24 Nov). No need to act on alert A7F3.',
    );
  });

  it('toGsm7 strips accents outside the alphabet and drops the rest', () => {
    expect(toGsm7('Zoë ’Ŝ 😀  Müller')).toBe('Zoe S Müller');
  });
});

describe('the sms: link', () => {
  it('[SO2] names one recipient and percent-encodes the body (RFC 5724), with &body= for iOS', () => {
    expect(smsUri('+15551234567', 'SOS & help?')).toBe('sms:+15551234567?body=SOS%20%26%20help%3F');
    expect(smsUri('+15551234567', 'x', { ios: true })).toBe('sms:+15551234567&body=x');
  });
});

describe('defaults', () => {
  it('the emergency number follows the region of the first language that has one, else 112', () => {
    expect(defaultEmergencyNumber(['en-US'])).toBe('911');
    expect(defaultEmergencyNumber(['en', 'en-GB'])).toBe('999');
    expect(defaultEmergencyNumber(['sw-KE'])).toBe('999');
    expect(defaultEmergencyNumber(['de-DE'])).toBe('112');
    expect(defaultEmergencyNumber(['fr'])).toBe('112');
    expect(defaultEmergencyNumber(['not a tag'])).toBe('112');
  });

  it('location updates every 60 s for 10 minutes, then every 5 minutes', () => {
    expect(nextLocationDelayMs(0)).toBe(60_000);
    expect(nextLocationDelayMs(9 * 60_000 + 59_999)).toBe(60_000);
    expect(nextLocationDelayMs(10 * 60_000)).toBe(300_000);
  });
});
