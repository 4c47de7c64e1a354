/**
 * How a PIN verifier (schema/src/protocol/pin-verifier.ts) sits in `user_settings.cancel_pin_hash` /
 * `duress_pin_hash`: `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`, the algorithm first so another one can
 * follow. Reading parses with the protocol's own schema: a value that does not parse is no verifier at all.
 */
import { PinVerifier } from '@vitalwatch/schema/protocol/pin-verifier';

const PREFIX = 'pbkdf2-sha256';

export function encodePinVerifier(verifier: PinVerifier | null): string | null {
  if (verifier === null) return null;
  return [PREFIX, verifier.iterations, verifier.salt, verifier.hash].join('$');
}

export function decodePinVerifier(column: string | null): PinVerifier | null {
  const parts = column?.split('$');
  if (parts?.length !== 4 || parts[0] !== PREFIX) return null;
  const [, iterations, salt, hash] = parts;
  const parsed = PinVerifier.safeParse({ iterations: Number(iterations), salt, hash });
  return parsed.success ? parsed.data : null;
}
