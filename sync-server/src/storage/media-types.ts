/**
 * What may be stored where: the content types we accept, how each is recognised from the file's first bytes
 * (magic numbers), its size limit, and which buckets take it. A declared type is only believed when the bytes
 * agree, so a renamed executable or HTML page cannot be stored as "audio/mpeg" and later served from our origin.
 *
 * | kind     | content types (parameters such as `;codecs=opus` are ignored)  | first bytes                        | limit  |
 * | -------- | -------------------------------------------------------------- | ---------------------------------- | ------ |
 * | audio    | audio/mpeg, audio/mp3                                          | `ID3`, or an MPEG frame sync FF Ex/Fx | 25 MiB |
 * | audio    | audio/ogg, audio/opus                                          | `OggS`                             | 25 MiB |
 * | audio    | audio/webm                                                     | EBML 1A 45 DF A3                   | 25 MiB |
 * | audio    | audio/mp4, audio/m4a, audio/x-m4a                            | `ftyp` at byte 4                   | 25 MiB |
 * | audio    | audio/wav, audio/wave, audio/x-wav                             | `RIFF` … `WAVE`                    | 25 MiB |
 * | image    | image/jpeg                                                     | FF D8 FF                           | 10 MiB |
 * | image    | image/png                                                      | 89 `PNG` 0D 0A 1A 0A               | 10 MiB |
 * | image    | image/webp                                                     | `RIFF` … `WEBP`                    | 10 MiB |
 * | image    | image/heic, image/heif                                         | `ftyp` + a HEIF brand              | 10 MiB |
 * | vector   | image/svg+xml                                                  | `<svg` or `<?xml` (after BOM/space) |  2 MiB |
 * | document | application/pdf                                                | `%PDF-`                            | 20 MiB |
 * | data     | application/json                                               | `{` or `[` (after BOM/space)       | 50 MiB |
 * | data     | text/csv                                                       | text: no NUL, no C0 control bytes  | 50 MiB |
 */

export type MediaKind = 'audio' | 'image' | 'vector' | 'document' | 'data';

/** The most bytes any signature needs; the upload path buffers this many before it writes anything. */
export const SNIFF_BYTES = 16;

const MiB = 1024 * 1024;

export const SIZE_LIMITS: Readonly<Record<MediaKind, number>> = {
  audio: 25 * MiB,
  image: 10 * MiB,
  vector: 2 * MiB,
  document: 20 * MiB,
  data: 50 * MiB,
};

/** The largest file of any kind: the tus server's own ceiling. */
export const MAX_UPLOAD_BYTES = Math.max(...Object.values(SIZE_LIMITS));

type Signature = (head: Uint8Array) => boolean;

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
const webm: Signature = (h) => bytes(h, 0, [0x1a, 0x45, 0xdf, 0xa3]);
const mp4: Signature = (h) => ascii(h, 4, 'ftyp');
const wav: Signature = (h) => ascii(h, 0, 'RIFF') && ascii(h, 8, 'WAVE');
const jpeg: Signature = (h) => bytes(h, 0, [0xff, 0xd8, 0xff]);
const png: Signature = (h) => bytes(h, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const webp: Signature = (h) => ascii(h, 0, 'RIFF') && ascii(h, 8, 'WEBP');
const heif: Signature = (h) => mp4(h) && HEIF_BRANDS.some((brand) => ascii(h, 8, brand));
const pdf: Signature = (h) => ascii(h, 0, '%PDF-');
const svg: Signature = (h) => {
  const at = textStart(h);
  return ascii(h, at, '<svg') || ascii(h, at, '<?xml');
};
const json: Signature = (h) => {
  const at = textStart(h);
  return h[at] === 0x7b || h[at] === 0x5b;
};
// CSV has no magic number; refuse what is plainly binary (NUL or other C0 controls besides tab, CR, LF).
const csv: Signature = (h) =>
  h.length > 0 && h.every((b) => b >= 0x20 || b === 0x09 || b === 0x0a || b === 0x0d);

type MediaType = { kind: MediaKind; matches: Signature };

const MEDIA_TYPES: Readonly<Record<string, MediaType>> = {
  'audio/mpeg': { kind: 'audio', matches: mp3 },
  'audio/mp3': { kind: 'audio', matches: mp3 },
  'audio/ogg': { kind: 'audio', matches: ogg },
  'audio/opus': { kind: 'audio', matches: ogg },
  'audio/webm': { kind: 'audio', matches: webm },
  'audio/mp4': { kind: 'audio', matches: mp4 },
  'audio/m4a': { kind: 'audio', matches: mp4 },
  'audio/x-m4a': { kind: 'audio', matches: mp4 },
  'audio/wav': { kind: 'audio', matches: wav },
  'audio/wave': { kind: 'audio', matches: wav },
  'audio/x-wav': { kind: 'audio', matches: wav },
  'image/jpeg': { kind: 'image', matches: jpeg },
  'image/png': { kind: 'image', matches: png },
  'image/webp': { kind: 'image', matches: webp },
  'image/heic': { kind: 'image', matches: heif },
  'image/heif': { kind: 'image', matches: heif },
  'image/svg+xml': { kind: 'vector', matches: svg },
  'application/pdf': { kind: 'document', matches: pdf },
  'application/json': { kind: 'data', matches: json },
  'text/csv': { kind: 'data', matches: csv },
};

/** The buckets users write (the seed's list); `templates` and `assets` are the server's own. */
export const BUCKET_TYPES = {
  emergency: ['audio', 'image'],
  avatars: ['image'],
  documents: ['document', 'image'],
  exports: ['data', 'document'],
  reports: ['document'],
  charts: ['vector', 'image'],
  backups: ['data'],
  templates: [],
  assets: [],
} as const satisfies Record<string, readonly MediaKind[]>;

/** `Audio/WebM; codecs=opus` → `audio/webm`: the part the table is keyed by. */
export function essenceOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

export type TypeCheck =
  | { ok: true; kind: MediaKind; limit: number }
  | { ok: false; code: 'unsupported_content_type' | 'content_type_not_allowed'; message: string };

/** Whether `bucket` takes files declared as `contentType`, and up to what size. */
export function checkDeclaredType(bucket: keyof typeof BUCKET_TYPES, contentType: string): TypeCheck {
  const type = MEDIA_TYPES[essenceOf(contentType)];
  if (type === undefined) {
    return {
      ok: false,
      code: 'unsupported_content_type',
      message: `content type "${contentType}" is not one we store (${Object.keys(MEDIA_TYPES).join(', ')})`,
    };
  }
  const allowed: readonly MediaKind[] = BUCKET_TYPES[bucket];
  if (!allowed.includes(type.kind)) {
    return {
      ok: false,
      code: 'content_type_not_allowed',
      message:
        allowed.length === 0
          ? `bucket "${bucket}" is written by the server only`
          : `bucket "${bucket}" takes ${allowed.join(' or ')} files, not ${type.kind} ("${contentType}")`,
    };
  }
  return { ok: true, kind: type.kind, limit: SIZE_LIMITS[type.kind] };
}

/**
 * Whether the file's first bytes are what its declared type says. `head` is the first `SNIFF_BYTES` bytes, or the
 * whole file when it is shorter. Call only with a type `checkDeclaredType` accepted.
 */
export function bytesMatchType(contentType: string, head: Uint8Array): boolean {
  return MEDIA_TYPES[essenceOf(contentType)]?.matches(head) ?? false;
}
