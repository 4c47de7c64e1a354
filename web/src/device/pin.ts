/**
 * PINs that guard cancelling an SOS (and the duress PIN that looks like a cancel). Only a salted PBKDF2-SHA256
 * hash is stored. A 4–8 digit PIN cannot resist an offline guess whatever the iteration count; the hash keeps it
 * from being read off the device in plain text, and 100,000 iterations keep a check fast on a low-end phone in
 * the middle of an emergency.
 */
import type { PinHash } from './prefs.ts';

const ITERATIONS = 100_000;
export const PIN_PATTERN = /^[0-9]{4,8}$/;

function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

async function derive(pin: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(pin), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    key,
    256,
  );
  return toHex(bits);
}

export async function hashPin(pin: string): Promise<PinHash> {
  if (!PIN_PATTERN.test(pin)) throw new Error('A PIN is 4 to 8 digits.');
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return { salt: toHex(salt), hash: await derive(pin, salt, ITERATIONS), iterations: ITERATIONS };
}

export async function verifyPin(pin: string, stored: PinHash): Promise<boolean> {
  return (await derive(pin, fromHex(stored.salt), stored.iterations)) === stored.hash;
}
