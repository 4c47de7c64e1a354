/**
 * GSM 03.38 default alphabet (GSM-7). One character outside it (a curly quote, an en dash, an emoji) turns the
 * whole SMS into UCS-2, which cuts a segment from 160 to 70 characters (docs/safety-practice.md), so SOS texts are made
 * of these characters only. Extension-table characters ({}[]~^|€\) cost two septets and are avoided too.
 */
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const BASIC_SET = new Set(BASIC);

/** Longest SOS text: one GSM-7 segment is 160 characters; 10 are kept back for carriers that add a prefix. */
export const SOS_SMS_MAX_CHARS = 150;

export function isGsm7(text: string): boolean {
  for (const char of text) if (!BASIC_SET.has(char)) return false;
  return true;
}

/**
 * Makes user text (a name) safe for GSM-7: accents outside the alphabet are stripped (Zoë → Zoe), anything else
 * that is not in it is dropped, and runs of spaces collapse.
 */
export function toGsm7(text: string): string {
  let out = '';
  for (const char of text.normalize('NFC')) {
    if (BASIC_SET.has(char)) {
      out += char;
      continue;
    }
    const base = char.normalize('NFD').replace(/\p{M}/gu, '');
    out += [...base].filter((c) => BASIC_SET.has(c)).join('');
  }
  return out
    .replace(/[\r\n]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}
