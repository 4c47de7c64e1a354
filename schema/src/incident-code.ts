/**
 * The short code a contact replies with ("OK A7F3", "SAFE A7F3 <PIN>"), one alphabet for the device, which draws
 * the code when the SOS starts, and the server, which draws a fresh one when the user's other incident already has
 * it (SPEC CL19). It is read aloud and typed on a feature phone, so it leaves out look-alikes (0/O, 1/I/L, 5/S,
 * 2/Z, 8/B). 4 characters of 25 = 390,625 codes: unique enough among one user's incidents, never a secret (a reply
 * is matched against the incidents its sender was alerted for).
 *
 * Codes drawn before this alphabet was shared (the server once drew 6 characters with Z/2, B/8, S/5) stay valid
 * where codes are read: a trigger accepts 4–8 letters and digits, and an SMS reply names any such code.
 */
export const INCIDENT_CODE_ALPHABET = 'ACDEFGHJKMNPQRTUVWXY34679';
export const INCIDENT_CODE_LENGTH = 4;

/** Web Crypto, in the browser, the service worker and Node alike (schema is typed without the DOM or Node). */
type WithCrypto = { crypto: { getRandomValues(array: Uint8Array): Uint8Array } };

export function newIncidentCode(
  random = (n: number) => (globalThis as unknown as WithCrypto).crypto.getRandomValues(new Uint8Array(n)),
): string {
  // 250 is the largest multiple of 25 below 256: rejecting bytes ≥ 250 keeps the draw uniform.
  let code = '';
  while (code.length < INCIDENT_CODE_LENGTH) {
    for (const byte of random(8)) {
      if (byte < 250 && code.length < INCIDENT_CODE_LENGTH) {
        code += INCIDENT_CODE_ALPHABET[byte % INCIDENT_CODE_ALPHABET.length];
      }
    }
  }
  return code;
}
