/**
 * The user's name as an SMS carries it: GSM-7 only (toGsm7), and when it must be shorter, cut at a word boundary
 * ("Maria Fernanda Gonzalez" in 16 → "Maria Fernanda"), never in the middle of a word unless the first word alone
 * is too long. Empty when nothing of the name is left; the caller then writes a text without a name.
 */
import { toGsm7 } from './gsm7.ts';

/** A name cut to fewer characters than this says too little to be worth the room. */
export const MIN_NAME_CHARS = 3;

export function smsName(name: string, maxChars: number): string {
  const clean = toGsm7(name);
  if (clean.length <= maxChars) return clean;
  if (maxChars < MIN_NAME_CHARS) return '';
  const head = clean.slice(0, maxChars + 1);
  const space = head.lastIndexOf(' ');
  const cut = space >= MIN_NAME_CHARS ? head.slice(0, space) : clean.slice(0, maxChars);
  // A cut that ends on a joining mark ("Ana-", "Ana,") reads as broken.
  return cut.replace(/[\s,;:'&.-]+$/, '');
}

/**
 * The text `make` builds with as much of the name as fits in `maxChars`, cut at a word boundary; null when it
 * does not fit with at least MIN_NAME_CHARS of the name (the caller then tries a shorter wording, or none).
 * `make` is given the name already in GSM-7.
 */
export function fitName(make: (name: string) => string, name: string, maxChars: number): string | null {
  const clean = toGsm7(name);
  const full = make(clean);
  if (full.length <= maxChars) return full;
  if (clean === '') return null;
  const cut = smsName(clean, maxChars - (full.length - clean.length));
  if (cut === '') return null;
  const text = make(cut);
  return text.length <= maxChars ? text : null;
}
