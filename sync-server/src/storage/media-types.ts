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

import {
  essenceOf,
  SIGNATURES,
  SNIFF_BYTES,
  type KnownEssence,
} from '@vitalwatch/schema/media/magic-numbers';

export { essenceOf, SNIFF_BYTES };

export type MediaKind = 'audio' | 'image' | 'vector' | 'document' | 'data';

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

/** The kind of every type we store; its first bytes are checked by schema/src/media/magic-numbers.ts. */
const MEDIA_KINDS: Readonly<Record<KnownEssence, MediaKind>> = {
  'audio/mpeg': 'audio',
  'audio/mp3': 'audio',
  'audio/ogg': 'audio',
  'audio/opus': 'audio',
  'audio/webm': 'audio',
  'audio/mp4': 'audio',
  'audio/m4a': 'audio',
  'audio/x-m4a': 'audio',
  'audio/wav': 'audio',
  'audio/wave': 'audio',
  'audio/x-wav': 'audio',
  'image/jpeg': 'image',
  'image/png': 'image',
  'image/webp': 'image',
  'image/heic': 'image',
  'image/heif': 'image',
  'image/svg+xml': 'vector',
  'application/pdf': 'document',
  'application/json': 'data',
  'text/csv': 'data',
};

const isKnown = (essence: string): essence is KnownEssence => Object.hasOwn(MEDIA_KINDS, essence);

/** The kind of a stored type (parameters ignored); null for a type we do not store. */
export function mediaKindOf(contentType: string): MediaKind | null {
  const essence = essenceOf(contentType);
  return isKnown(essence) ? MEDIA_KINDS[essence] : null;
}

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

export type TypeCheck =
  | { ok: true; kind: MediaKind; limit: number }
  | { ok: false; code: 'unsupported_content_type' | 'content_type_not_allowed'; message: string };

/** Whether `bucket` takes files declared as `contentType`, and up to what size. */
export function checkDeclaredType(bucket: keyof typeof BUCKET_TYPES, contentType: string): TypeCheck {
  const essence = essenceOf(contentType);
  if (!isKnown(essence)) {
    return {
      ok: false,
      code: 'unsupported_content_type',
      message: `content type "${contentType}" is not one we store (${Object.keys(MEDIA_KINDS).join(', ')})`,
    };
  }
  const allowed: readonly MediaKind[] = BUCKET_TYPES[bucket];
  const kind = MEDIA_KINDS[essence];
  if (!allowed.includes(kind)) {
    return {
      ok: false,
      code: 'content_type_not_allowed',
      message:
        allowed.length === 0
          ? `bucket "${bucket}" is written by the server only`
          : `bucket "${bucket}" takes ${allowed.join(' or ')} files, not ${kind} ("${contentType}")`,
    };
  }
  return { ok: true, kind, limit: SIZE_LIMITS[kind] };
}

/**
 * Whether the file's first bytes are what its declared type says. `head` is the first `SNIFF_BYTES` bytes, or the
 * whole file when it is shorter. Call only with a type `checkDeclaredType` accepted.
 */
export function bytesMatchType(contentType: string, head: Uint8Array): boolean {
  const essence = essenceOf(contentType);
  return isKnown(essence) && SIGNATURES[essence](head);
}
