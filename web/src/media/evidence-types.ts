/**
 * The evidence types the server's `emergency` bucket accepts (sync-server/src/storage/media-types.ts: kinds
 * `audio` and `image`, recognised by their first bytes), as the device needs them: which type a captured file
 * really is, its size limit, and the extension of its object name. The device sniffs the bytes itself, so a photo
 * whose `File.type` is empty or wrong is still declared correctly, and a file the server would refuse is marked
 * at capture instead of after it crossed a weak network. e2e/evidence.browser.test.ts checks that every type
 * here is one the server accepts in that bucket.
 */

import { essenceOf, SIGNATURES } from '@vitalwatch/schema/media/magic-numbers';

export { essenceOf, SNIFF_BYTES } from '@vitalwatch/schema/media/magic-numbers';

export type EvidenceKind = 'audio' | 'photo';

export interface EvidenceType {
  /** The essence sent as `contentType` (codec parameters are added from the recorder when known). */
  readonly essence: string;
  readonly kind: EvidenceKind;
  readonly extension: string;
  readonly matches: (head: Uint8Array) => boolean;
}

const MiB = 1024 * 1024;

/** The server's per-kind limits (media-types.ts SIZE_LIMITS: audio 25 MiB, image 10 MiB). */
export const EVIDENCE_SIZE_LIMITS: Readonly<Record<EvidenceKind, number>> = {
  audio: 25 * MiB,
  photo: 10 * MiB,
};

/** Most specific first: HEIF is an MP4-style container. */
export const EVIDENCE_TYPES: readonly EvidenceType[] = (
  [
    ['image/jpeg', 'photo', 'jpg'],
    ['image/png', 'photo', 'png'],
    ['image/webp', 'photo', 'webp'],
    ['image/heic', 'photo', 'heic'],
    ['audio/webm', 'audio', 'webm'],
    ['audio/ogg', 'audio', 'ogg'],
    ['audio/mp4', 'audio', 'm4a'],
    ['audio/wav', 'audio', 'wav'],
    ['audio/mpeg', 'audio', 'mp3'],
  ] as const
).map(([essence, kind, extension]) => ({ essence, kind, extension, matches: SIGNATURES[essence] }));

/** What a file of `kind` really is, from its first bytes; null when the server would not take it. */
export function sniffEvidenceType(kind: EvidenceKind, head: Uint8Array): EvidenceType | null {
  return EVIDENCE_TYPES.find((type) => type.kind === kind && type.matches(head)) ?? null;
}

/** Recorder formats, best first; all are types the server accepts for audio. */
export const RECORDER_MIME_TYPES = [
  'audio/webm;codecs=opus',
  'audio/webm',
  'audio/mp4',
  'audio/ogg;codecs=opus',
  'audio/ogg',
] as const;

/** The same media-type grammar the server checks the declared `contentType` against. */
const CONTENT_TYPE =
  /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;\s*[a-z0-9_.-]+=[^;,\s]+)*$/i;

/**
 * The `contentType` to declare: the recorder's own type (with its codec) when it names the sniffed format and is
 * well-formed, else the sniffed essence.
 */
export function declaredContentType(type: EvidenceType, reported: string): string {
  const trimmed = reported.trim();
  return essenceOf(trimmed) === type.essence && CONTENT_TYPE.test(trimmed) && trimmed.length <= 255
    ? trimmed
    : type.essence;
}

/** The object name's extension for a declared content type (`bin` for one the server would not take anyway). */
export function extensionFor(contentType: string): string {
  const essence = essenceOf(contentType);
  return EVIDENCE_TYPES.find((type) => type.essence === essence)?.extension ?? 'bin';
}
