import { describe, expect, it } from 'vitest';
import { formatPhoneNumber, parsePhoneInput } from './phone-number.ts';
import { phoneRegion } from './phone-region.ts';

describe('phone numbers people type', () => {
  it('[SO5] are read with the region: a national number becomes E.164, an international one keeps its country', () => {
    expect(parsePhoneInput('0712 345678', 'KE')).toEqual({ e164: '+254712345678' });
    expect(parsePhoneInput('07911 123456', 'GB')).toEqual({ e164: '+447911123456' });
    expect(parsePhoneInput('(212) 555-0123', 'US')).toEqual({ e164: '+12125550123' });
    expect(parsePhoneInput('+44 7911 123456', 'KE')).toEqual({ e164: '+447911123456' });
    expect(parsePhoneInput('00254 712 345678', 'GB')).toEqual({ e164: '+254712345678' });
  });

  it('[SO5] without a region, a number with no country code is asked for one, with an example', () => {
    expect(parsePhoneInput('0712 345678', null)).toEqual({
      error: 'Add the country code, e.g. +254 712 345 678.',
    });
    expect(parsePhoneInput('0712 345678', 'ZZ')).toEqual({
      error: 'Add the country code, e.g. +254 712 345 678.',
    });
  });

  it('[SO5] a wrong number says what is wrong and how to fix it, with an example for the region', () => {
    expect(parsePhoneInput('', 'KE')).toEqual({ error: 'Enter a phone number.' });
    expect(parsePhoneInput('712', 'KE')).toEqual({
      error:
        'This number is too short for Kenya: check the digits. Or add the country code, e.g. +254 712 123456.',
    });
    expect(parsePhoneInput('0712 3456789999', 'KE')).toEqual({
      error:
        'This number is too long for Kenya: check the digits. Or add the country code, e.g. +254 712 123456.',
    });
    expect(parsePhoneInput('0791112345', 'GB')).toEqual({
      error:
        'This is not a valid number for United Kingdom: check the digits. Or add the country code, e.g. +44 7400 123456.',
    });
    expect(parsePhoneInput('call mum', 'GB')).toEqual({
      error: 'That is not a phone number we can read. Add the country code, e.g. +44 7400 123456.',
    });
  });

  it('[SO5] are shown formatted, nationally for the own region and internationally otherwise, never as E.164', () => {
    expect(formatPhoneNumber('+254712345678', 'KE')).toBe('0712 345678');
    expect(formatPhoneNumber('+254712345678', 'GB')).toBe('+254 712 345678');
    expect(formatPhoneNumber('+447911123456', 'GB')).toBe('07911 123456');
    expect(formatPhoneNumber('+447911123456', null)).toBe('+44 7911 123456');
  });
});

describe("the phone's region", () => {
  it('[SO5] comes from the time zone before the language: a Kenyan phone in en-US reads 07… as Kenyan', () => {
    expect(phoneRegion('Africa/Nairobi', ['en-US'])).toBe('KE');
    expect(phoneRegion('Europe/London', ['en-US', 'en'])).toBe('GB');
  });

  it('[SO5] takes the language region when the zone is shared with it, and the language alone without a zone', () => {
    expect(phoneRegion('Africa/Nairobi', ['sw-TZ'])).toBe('TZ');
    expect(phoneRegion('Europe/Zurich', ['de-LI'])).toBe('LI');
    expect(phoneRegion('UTC', ['en-GB'])).toBe('GB');
    expect(phoneRegion(undefined, ['fr-FR'])).toBe('FR');
    expect(phoneRegion('Etc/UTC', ['en'])).toBeNull();
  });
});
