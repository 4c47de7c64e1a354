/**
 * Phone numbers as people type and read them (SPEC SO5): parsed with the user's region (phone-region.ts), stored
 * as E.164, shown formatted. A number that cannot be used gets a message that says how to fix it, with an
 * example for the region ("Add the country code, e.g. +254 712 345 678"). libphonenumber-js (min metadata, mobile
 * examples) is only imported from here and the contacts screen: a lazy chunk, never the first-visit bundle.
 */
import {
  getCountryCallingCode,
  getExampleNumber,
  parsePhoneNumberFromString,
  validatePhoneNumberLength,
  type CountryCode,
} from 'libphonenumber-js/min';
import examples from 'libphonenumber-js/mobile/examples';

/** The issue's own example, for when the region is unknown. */
const GENERIC_EXAMPLE = '+254 712 345 678';

export type PhoneInput = { e164: string } | { error: string };

function asCountry(region: string | null): CountryCode | undefined {
  if (region === null) return undefined;
  // Only regions libphonenumber knows; an unknown one is as good as none.
  return getExampleNumber(region as CountryCode, examples) === undefined
    ? undefined
    : (region as CountryCode);
}

function countryName(region: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'region' }).of(region) ?? region;
  } catch {
    return region;
  }
}

function example(region: CountryCode | undefined): string {
  return (
    (region === undefined ? undefined : getExampleNumber(region, examples)?.formatInternational()) ??
    GENERIC_EXAMPLE
  );
}

/** E.164 for a typed number, or a message for the phone field that says what to change. */
export function parsePhoneInput(input: string, regionCode: string | null): PhoneInput {
  const trimmed = input.trim();
  if (trimmed === '') return { error: 'Enter a phone number.' };
  const region = asCountry(regionCode);
  const international = trimmed.startsWith('+') || trimmed.startsWith('00');
  const addCode = `Add the country code, e.g. ${example(region)}.`;
  if (!international && region === undefined) return { error: addCode };
  const parsed = parsePhoneNumberFromString(trimmed, region);
  const country = parsed?.country ?? (international ? undefined : region);
  const where = country === undefined ? 'its country' : countryName(country);
  if (parsed === undefined) {
    return { error: `That is not a phone number we can read. ${addCode}` };
  }
  if (parsed.isValid()) return { e164: parsed.number };
  switch (validatePhoneNumberLength(trimmed, region)) {
    case 'TOO_SHORT':
      return { error: `This number is too short for ${where}: check the digits. Or ${lower(addCode)}` };
    case 'TOO_LONG':
      return { error: `This number is too long for ${where}: check the digits. Or ${lower(addCode)}` };
    case 'INVALID_COUNTRY':
      return { error: `That country code does not exist. ${addCode}` };
    default:
      return { error: `This is not a valid number for ${where}: check the digits. Or ${lower(addCode)}` };
  }
}

function lower(sentence: string): string {
  return sentence.charAt(0).toLowerCase() + sentence.slice(1);
}

/**
 * How a stored E.164 number is shown: national format when it shares the user's country calling code (+44 covers
 * GB, GG, IM and JE, all dialled the same way from a UK phone), international otherwise.
 */
export function formatPhoneNumber(e164: string, regionCode: string | null): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed === undefined) return e164;
  const region = asCountry(regionCode);
  return region !== undefined && parsed.countryCallingCode === getCountryCallingCode(region)
    ? parsed.formatNational()
    : parsed.formatInternational();
}
