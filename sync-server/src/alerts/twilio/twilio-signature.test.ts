import { describe, expect, it } from 'vitest';
import { isValidTwilioSignature, twilioSignature } from './twilio-signature.ts';

// The vectors Twilio's own libraries test against (twilio-node, twilio-python, twilio-php): token 12345.
const TOKEN = '12345';
const URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};
const SIGNATURE = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';

describe('twilioSignature', () => {
  it("reproduces Twilio's published signature, whatever order the parameters come in", () => {
    expect(twilioSignature(TOKEN, URL, PARAMS)).toBe(SIGNATURE);
    const reversed = Object.fromEntries(Object.entries(PARAMS).reverse());
    expect(twilioSignature(TOKEN, URL, reversed)).toBe(SIGNATURE);
  });

  it("signs a repeated name's distinct values in sorted order (Twilio's published vector)", () => {
    const repeated = { Sid: 'CA123', SidAccount: 'AC123', Digits: ['5678', '1234', '1234'] };
    expect(twilioSignature(TOKEN, URL, repeated)).toBe('IK+Dwps556ElfBT0I3Rgjkr1wJU=');
  });

  it('signs the URL exactly as given: every character of it counts', () => {
    expect(twilioSignature(TOKEN, `${URL}&x=1`, PARAMS)).not.toBe(SIGNATURE);
    expect(twilioSignature(TOKEN, URL.replace('https', 'http'), PARAMS)).not.toBe(SIGNATURE);
  });
});

describe('isValidTwilioSignature', () => {
  it('accepts the right signature and refuses a changed token, URL, parameter or signature', () => {
    expect(isValidTwilioSignature(TOKEN, URL, PARAMS, SIGNATURE)).toBe(true);
    expect(isValidTwilioSignature('54321', URL, PARAMS, SIGNATURE)).toBe(false);
    expect(isValidTwilioSignature(TOKEN, `${URL}&x=1`, PARAMS, SIGNATURE)).toBe(false);
    expect(isValidTwilioSignature(TOKEN, URL, { ...PARAMS, Digits: '9999' }, SIGNATURE)).toBe(false);
    expect(isValidTwilioSignature(TOKEN, URL, { ...PARAMS, Extra: '' }, SIGNATURE)).toBe(false);
    expect(isValidTwilioSignature(TOKEN, URL, PARAMS, SIGNATURE.replace('R', 'S'))).toBe(false);
  });

  it('refuses a missing, empty, shorter or non-ASCII header without throwing', () => {
    expect(isValidTwilioSignature(TOKEN, URL, PARAMS, undefined)).toBe(false);
    expect(isValidTwilioSignature(TOKEN, URL, PARAMS, '')).toBe(false);
    expect(isValidTwilioSignature(TOKEN, URL, PARAMS, 'RSOY')).toBe(false);
    expect(isValidTwilioSignature(TOKEN, URL, PARAMS, 'invalid 王')).toBe(false);
  });

  it('never validates with an empty auth token', () => {
    expect(isValidTwilioSignature('', URL, PARAMS, twilioSignature('', URL, PARAMS))).toBe(false);
  });

  it('accepts a signature made with or without the default port, as Twilio has sent both', () => {
    const withPort = twilioSignature(TOKEN, 'https://mycompany.com:443/myapp.php?foo=1&bar=2', PARAMS);
    expect(isValidTwilioSignature(TOKEN, URL, PARAMS, withPort)).toBe(true);
    expect(
      isValidTwilioSignature(TOKEN, 'https://mycompany.com:443/myapp.php?foo=1&bar=2', PARAMS, SIGNATURE),
    ).toBe(true);
    // Another port is another URL.
    const otherPort = twilioSignature(TOKEN, 'https://mycompany.com:8443/myapp.php?foo=1&bar=2', PARAMS);
    expect(isValidTwilioSignature(TOKEN, URL, PARAMS, otherPort)).toBe(false);
    const http = 'http://127.0.0.1/hook';
    expect(
      isValidTwilioSignature(TOKEN, http, {}, twilioSignature(TOKEN, 'http://127.0.0.1:80/hook', {})),
    ).toBe(true);
  });
});
