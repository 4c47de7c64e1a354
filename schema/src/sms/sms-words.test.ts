import { describe, expect, it } from 'vitest';
import { isGsm7 } from './gsm7.ts';
import { smsName } from './sms-name.ts';
import { deviceUtcOffsetMinutes, smsTime } from './sms-time.ts';

const AT = Date.UTC(2026, 11, 7, 15, 7);

describe('times in SMS texts', () => {
  it('[SO3] show the local time with its UTC offset and the local day', () => {
    expect(smsTime(AT, 180)).toBe('18:07 UTC+3 7 Dec');
    expect(smsTime(AT, 0)).toBe('15:07 UTC 7 Dec');
    expect(smsTime(AT, -300)).toBe('10:07 UTC-5 7 Dec');
    expect(smsTime(AT, 330)).toBe('20:37 UTC+5:30 7 Dec');
    expect(smsTime(AT, -570)).toBe('05:37 UTC-9:30 7 Dec');
    expect(smsTime(AT, 840)).toBe('05:07 UTC+14 8 Dec');
    expect(smsTime(Date.UTC(2026, 11, 31, 23, 30), 60)).toBe('00:30 UTC+1 1 Jan');
  });

  it('[SO3] an offset no clock has is shown as UTC, never as a wrong local time', () => {
    for (const bad of [900, -780, 1.5, Number.NaN]) expect(smsTime(AT, bad)).toBe('15:07 UTC 7 Dec');
  });

  it('[SO3] are GSM-7', () => {
    for (const offset of [-720, -570, 0, 345, 765, 840]) expect(isGsm7(smsTime(AT, offset))).toBe(true);
  });

  it("[SO4] the device's offset is minutes east of UTC, as the trigger carries it", () => {
    expect(deviceUtcOffsetMinutes(AT)).toBe(-new Date(AT).getTimezoneOffset() + 0);
    expect(Object.is(deviceUtcOffsetMinutes(AT), -0)).toBe(false);
  });
});

describe('names in SMS texts', () => {
  it('[SO3] are cut at a word boundary', () => {
    expect(smsName('Maria Fernanda Gonzalez', 16)).toBe('Maria Fernanda');
    expect(smsName('Maria Fernanda Gonzalez', 14)).toBe('Maria Fernanda');
    expect(smsName('Maria Fernanda Gonzalez', 13)).toBe('Maria');
    expect(smsName('Ana-Maria Lopez', 12)).toBe('Ana-Maria');
    expect(smsName('Ana, Maria', 6)).toBe('Ana');
  });

  it('[SO3] cut inside a word only when the first word alone is too long', () => {
    expect(smsName('Wolfeschlegelsteinhausenbergerdorff Sr', 10)).toBe('Wolfeschle');
    expect(smsName('Al Wolfeschlegelsteinhausenbergerdorff', 10)).toBe('Al Wolfesc');
  });

  it('[SO3] keep GSM-7 letters only and leave nothing for a name with none', () => {
    expect(smsName('Zoë Ørsted 🐉', 40)).toBe('Zoe Ørsted');
    expect(smsName('Алёна', 40)).toBe('');
    expect(smsName('Ana', 2)).toBe('');
  });
});
