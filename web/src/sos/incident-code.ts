/**
 * The short code a contact replies with ("OK A7F3"). Read aloud and typed on a feature phone, so it avoids
 * look-alikes (0/O, 1/I/L, 5/S, 2/Z, 8/B). 4 characters of 25 = 390,625 codes: unique enough per user, never a
 * secret (the server matches a reply against the sender's open incidents).
 */
const ALPHABET = 'ACDEFGHJKMNPQRTUVWXY34679';

export function newIncidentCode(random: (n: number) => Uint8Array = randomBytes): string {
  // 250 is the largest multiple of 25 below 256: rejecting bytes ≥ 250 keeps the draw uniform.
  let code = '';
  while (code.length < 4) {
    for (const byte of random(8)) {
      if (byte < 250 && code.length < 4) code += ALPHABET[byte % ALPHABET.length];
    }
  }
  return code;
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}
