import { describe, expect, it } from 'vitest';
import { isGsm7, SOS_SMS_MAX_CHARS, toGsm7 } from '@vitalwatch/schema/sms/gsm7';
import { newIncidentCode } from './incident-code.ts';
import { defaultEmergencyNumber } from './emergency-number.ts';
import { nextLocationDelayMs } from './location-schedule.ts';
import { buildAllClearSms, buildSosSms, checkSmsSegment, smsUri } from './sos-sms.ts';

const NOW = Date.UTC(2026, 10, 24, 14, 32, 10);
const fresh = { source: 'fresh' as const, fix: { lat: 51.507351, lng: -0.127758, accuracyM: 24.6, at: NOW } };

describe('the SOS text message', () => {
  it('holds the code, coordinates to 5 decimals, accuracy, UTC time with the day and the reply instruction', () => {
    const text = buildSosSms({ code: 'A7F3', name: 'Ana', best: fresh, now: NOW });
    expect(text).toBe(
      'SOS from Ana via VitalWatch. I need help! maps.google.com/?q=51.50735,-0.12776 acc 25m. 14:32 UTC 24 Nov. Reply OK A7F3',
    );
    expect(checkSmsSegment(text)).toEqual({ gsm7: true, length: text.length, oneSegment: true });
  });

  it('stays one GSM-7 segment of at most 150 characters with a long non-GSM name and worst-case coordinates', () => {
    const worst = {
      source: 'last-known' as const,
      fix: { lat: -89.123456, lng: -179.123456, accuracyM: 99_999, at: NOW - 3 * 3_600_000 },
    };
    const name = 'Zoë “Dragonfly” Ørsted-Kowalczyk 🐉 the third of her name, née Przybylska';
    const text = buildSosSms({ code: 'WXYZ', name, best: worst, now: NOW });
    expect(text.length).toBeLessThanOrEqual(SOS_SMS_MAX_CHARS);
    expect(isGsm7(text)).toBe(true);
    expect(text).toContain('-89.12346,-179.12346');
    expect(text).toContain('last known 3 h ago');
    expect(text).toContain('Reply OK WXYZ');
    expect(text).toContain('Zoe');
  });

  it('says so when no location is known', () => {
    const text = buildSosSms({ code: 'CDEF', name: '', best: null, now: NOW });
    expect(text).toMatch(/^SOS via VitalWatch\. I need help! Location unknown\. /);
    expect(text).toContain('Reply OK CDEF');
    expect(isGsm7(text)).toBe(true);
  });

  it('the all-clear is one GSM-7 segment too', () => {
    const text = buildAllClearSms({ code: 'A7F3', name: 'Ana', now: NOW });
    expect(checkSmsSegment(text).oneSegment).toBe(true);
    expect(text).toContain('A7F3');
  });

  it('toGsm7 strips accents outside the alphabet and drops the rest', () => {
    expect(toGsm7('Zoë ’Ŝ 😀  Müller')).toBe('Zoe S Müller');
  });
});

describe('the sms: link', () => {
  it('lists every number and percent-encodes the body (RFC 5724), with &body= for iOS', () => {
    expect(smsUri(['+15551234567', '+447700900123'], 'SOS & help?')).toBe(
      'sms:+15551234567,+447700900123?body=SOS%20%26%20help%3F',
    );
    expect(smsUri(['+15551234567'], 'x', { ios: true })).toBe('sms:+15551234567&body=x');
  });
});

describe('incident codes', () => {
  it('are 4 characters from an alphabet without look-alikes, and a draw of bytes ≥ 250 is rejected', () => {
    const bytes = [255, 250, 0, 1, 2, 3, 4, 5];
    expect(newIncidentCode(() => Uint8Array.from(bytes))).toBe('ACDE');
    for (let i = 0; i < 200; i++) expect(newIncidentCode()).toMatch(/^[ACDEFGHJKMNPQRTUVWXY34679]{4}$/);
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
