/**
 * What the server keeps of a cancel or duress PIN so that an SMS "SAFE <code> <PIN>" can be checked (SPEC AL15):
 * the device's own salted PBKDF2-HMAC-SHA256 hash (web/src/device/pin.ts), never the PIN. Lower-case hex as the
 * device writes it; the hash is the 32-byte derived key. The iteration range keeps a forged verifier from making
 * the server spend seconds of CPU on one SMS, and refuses one too weak to be worth storing.
 */
import * as z from 'zod/mini';

export const PIN_VERIFIER_MIN_ITERATIONS = 100_000;
export const PIN_VERIFIER_MAX_ITERATIONS = 1_000_000;

export const PinVerifier = z.strictObject({
  /** 16 to 64 random bytes. */
  salt: z.string().check(z.regex(/^(?:[0-9a-f]{2}){16,64}$/, 'must be 16 to 64 bytes of lower-case hex')),
  /** PBKDF2-HMAC-SHA256(PIN as UTF-8, salt, iterations), 32 bytes. */
  hash: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 32 bytes of lower-case hex')),
  iterations: z.int().check(z.minimum(PIN_VERIFIER_MIN_ITERATIONS), z.maximum(PIN_VERIFIER_MAX_ITERATIONS)),
});
export type PinVerifier = z.infer<typeof PinVerifier>;
