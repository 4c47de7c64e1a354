/**
 * How a file's type is recognised from its first bytes (magic numbers), shared by the server, which believes a
 * declared content type only when the bytes agree (sync-server/src/storage/media-types.ts), and the device, which
 * declares the type its capture really is (web/src/media/evidence-types.ts). Keyed by the content type's essence.
 */

/** The most bytes any signature needs. */
export const SNIFF_BYTES = 16;

export type Signature = (head: Uint8Array) => boolean;

function ascii(head: Uint8Array, at: number, text: string): boolean {
  if (head.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (head[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

function bytes(head: Uint8Array, at: number, expected: readonly number[]): boolean {
  return head.length >= at + expected.length && expected.every((b, i) => head[at + i] === b);
}

/** Skips a UTF-8 BOM and ASCII whitespace: where a text format's first meaningful byte is. */
function textStart(head: Uint8Array): number {
  let i = bytes(head, 0, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  while (i < head.length && [0x20, 0x09, 0x0a, 0x0d].includes(head[i] ?? 0)) i++;
  return i;
}

const HEIF_BRANDS = ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'];

const mp3: Signature = (h) =>
  ascii(h, 0, 'ID3') || (h.length >= 2 && h[0] === 0xff && ((h[1] ?? 0) & 0xe0) === 0xe0);
const ogg: Signature = (h) => ascii(h, 0, 'OggS');
const mp4: Signature = (h) => ascii(h, 4, 'ftyp');
const wav: Signature = (h) => ascii(h, 0, 'RIFF') && ascii(h, 8, 'WAVE');
const heif: Signature = (h) => mp4(h) && HEIF_BRANDS.some((brand) => ascii(h, 8, brand));

/** Signatures by essence. HEIF is an MP4-style container and WebP and WAV are both RIFF: each checks its brand. */
export const SIGNATURES = {
  'audio/mpeg': mp3,
  'audio/mp3': mp3,
  'audio/ogg': ogg,
  'audio/opus': ogg,
  'audio/webm': (h) => bytes(h, 0, [0x1a, 0x45, 0xdf, 0xa3]),
  'audio/mp4': mp4,
  'audio/m4a': mp4,
  'audio/x-m4a': mp4,
  'audio/wav': wav,
  'audio/wave': wav,
  'audio/x-wav': wav,
  'image/jpeg': (h) => bytes(h, 0, [0xff, 0xd8, 0xff]),
  'image/png': (h) => bytes(h, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  'image/webp': (h) => ascii(h, 0, 'RIFF') && ascii(h, 8, 'WEBP'),
  'image/heic': heif,
  'image/heif': heif,
  'image/svg+xml': (h) => {
    const at = textStart(h);
    return ascii(h, at, '<svg') || ascii(h, at, '<?xml');
  },
  'application/pdf': (h) => ascii(h, 0, '%PDF-'),
  'application/json': (h) => {
    const at = textStart(h);
    return h[at] === 0x7b || h[at] === 0x5b;
  },
  // CSV has no magic number; refuse what is plainly binary (NUL or other C0 controls besides tab, CR, LF).
  'text/csv': (h) => h.length > 0 && h.every((b) => b >= 0x20 || b === 0x09 || b === 0x0a || b === 0x0d),
} as const satisfies Record<string, Signature>;

export type KnownEssence = keyof typeof SIGNATURES;

/** `Audio/WebM; codecs=opus` → `audio/webm`: the part the tables are keyed by. */
export function essenceOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}
