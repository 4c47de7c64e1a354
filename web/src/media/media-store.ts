/**
 * Keeping a capture on the device: hash it, work out what it really is, store the row and the bytes in one
 * transaction, and read the bytes back.
 *
 * Blobs in IndexedDB fail in some browsers (Safari: a put that throws, or a Blob that stores but cannot be read
 * back, Dexie#1919; docs/platform-facts.md). So the Blob is stored, then read back and hashed; if either step fails the
 * bytes are stored again as an ArrayBuffer, and `readMediaBlob` rebuilds the Blob from it.
 *
 * A full disk or quota is a `MediaStorageFullError` with a message for the user. Callers show it; it must never
 * reach the SOS flow (the incident is already committed in the other database by then).
 */
import { newId } from '@vitalwatch/schema/ids';
import {
  declaredContentType,
  essenceOf,
  EVIDENCE_SIZE_LIMITS,
  extensionFor,
  sniffEvidenceType,
  SNIFF_BYTES,
  type EvidenceKind,
} from './evidence-types.ts';
import { evidenceObjectName } from './evidence-object-name.ts';
import type { CaptureLocation, MediaContentRow, MediaDb, MediaFileRow } from './media-db.ts';

/** The device has no room for the file. `message` is written for the user. */
export class MediaStorageFullError extends Error {
  override readonly name = 'MediaStorageFullError';

  constructor(kind: EvidenceKind, options?: ErrorOptions) {
    super(
      `Not enough space on this device to keep the ${kind === 'audio' ? 'recording' : 'photo'}. ` +
        'Free some space (old photos, videos or apps) and try again. Your SOS is not affected.',
      options,
    );
  }
}

/** Storing failed for another reason (the browser's database refused it). `message` is written for the user. */
export class MediaStoreError extends Error {
  override readonly name = 'MediaStoreError';

  constructor(kind: EvidenceKind, options?: ErrorOptions) {
    super(
      `This phone's browser could not keep the ${kind === 'audio' ? 'recording' : 'photo'}. Your SOS is not affected.`,
      options,
    );
  }
}

const QUOTA_NAMES = new Set(['QuotaExceededError', 'NS_ERROR_DOM_QUOTA_REACHED']);
/** DOMException's legacy code for QUOTA_EXCEEDED_ERR. */
const QUOTA_CODE = 22;

/**
 * Whether an IndexedDB failure means "no space": the DOMException itself, Dexie's wrapper
 * (`Dexie.QuotaExceededError`), or a transaction aborted because of it (Dexie's AbortError with the quota error
 * as `inner`).
 */
export function isQuotaError(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const { name, code } = current as { name?: unknown; code?: unknown };
    if ((typeof name === 'string' && QUOTA_NAMES.has(name)) || code === QUOTA_CODE) return true;
    const next = current as { inner?: unknown; cause?: unknown };
    current = next.inner ?? next.cause;
  }
  return false;
}

export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface Capture {
  incidentId: string;
  kind: EvidenceKind;
  blob: Blob;
  /** ms since the epoch. */
  capturedAt: number;
  durationMs: number | null;
  location: CaptureLocation | null;
  /** The signed-in user, if any: fixes the object name now (else the upload queue does). */
  userId: string | null;
  /** Defaults to a new UUIDv7. */
  id?: string;
}

export type StoredAs = 'blob' | 'buffer';

/** What is wrong with a file the server would refuse anyway; null when it can be uploaded. */
function refusalAtCapture(kind: EvidenceKind, size: number, known: boolean, reported: string): string | null {
  if (size === 0) return 'The file is empty, so there is nothing to upload.';
  if (!known) {
    const what = reported === '' ? 'an unknown type' : `"${essenceOf(reported)}"`;
    return kind === 'audio'
      ? `The recording is ${what}, which the server does not store. It is kept on this phone.`
      : `The photo is ${what}; the server stores JPEG, PNG, WebP and HEIC photos. It is kept on this phone.`;
  }
  const limit = EVIDENCE_SIZE_LIMITS[kind];
  if (size > limit) {
    const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MB`;
    return `The ${kind === 'audio' ? 'recording' : 'photo'} is ${mib(size)}; the server takes up to ${mib(limit)}. It is kept on this phone.`;
  }
  return null;
}

/**
 * Hashes and stores a capture. Resolves with the row (state `waiting`, or `failed-permanent` when the server
 * would refuse the file: it is kept all the same) and how the bytes were stored.
 * Rejects with `MediaStorageFullError` or `MediaStoreError` only.
 */
export async function storeCapture(
  db: MediaDb,
  capture: Capture,
): Promise<{ row: MediaFileRow; storedAs: StoredAs }> {
  let buffer: ArrayBuffer;
  try {
    buffer = await capture.blob.arrayBuffer();
  } catch (error) {
    throw new MediaStoreError(capture.kind, { cause: error });
  }
  const sha256 = await sha256Hex(buffer);
  const type = sniffEvidenceType(
    capture.kind,
    new Uint8Array(buffer, 0, Math.min(SNIFF_BYTES, buffer.byteLength)),
  );
  const contentType =
    type === null
      ? capture.blob.type || 'application/octet-stream'
      : declaredContentType(type, capture.blob.type);
  const refusal = refusalAtCapture(capture.kind, buffer.byteLength, type !== null, capture.blob.type);
  const id = capture.id ?? newId<string>();
  const row: MediaFileRow = {
    id,
    incidentId: capture.incidentId,
    kind: capture.kind,
    contentType,
    size: buffer.byteLength,
    sha256,
    capturedAt: capture.capturedAt,
    durationMs: capture.durationMs,
    location: capture.location,
    objectName:
      capture.userId === null
        ? null
        : evidenceObjectName(
            capture.userId,
            { id, incidentId: capture.incidentId, kind: capture.kind },
            extensionFor(contentType),
          ),
    state: refusal === null ? 'waiting' : 'failed-permanent',
    message: refusal,
    bytesSent: 0,
    uploadUrl: null,
    uploadCreatedAt: null,
    uploadedAt: null,
  };
  const blob = capture.blob.type === contentType ? capture.blob : new Blob([buffer], { type: contentType });
  const storedAs = await writeFile(db, row, blob, buffer);
  return { row, storedAs };
}

async function put(db: MediaDb, row: MediaFileRow, content: MediaContentRow): Promise<void> {
  await db.transaction('rw', db.files, db.contents, async () => {
    await db.contents.put(content);
    await db.files.put(row);
  });
}

async function writeFile(db: MediaDb, row: MediaFileRow, blob: Blob, buffer: ArrayBuffer): Promise<StoredAs> {
  try {
    await put(db, row, { id: row.id, blob, buffer: null, type: blob.type });
    if (await readsBackIntact(db, row)) return 'blob';
  } catch (error) {
    if (isQuotaError(error)) throw new MediaStorageFullError(row.kind, { cause: error });
    // Anything else: this browser cannot keep Blobs here; the ArrayBuffer below is the fallback.
  }
  try {
    await put(db, row, { id: row.id, blob: null, buffer, type: blob.type });
  } catch (error) {
    if (isQuotaError(error)) throw new MediaStorageFullError(row.kind, { cause: error });
    throw new MediaStoreError(row.kind, { cause: error });
  }
  return 'buffer';
}

/** Reading the stored bytes back gives the same hash (a stored Blob may be unreadable: Dexie#1919). */
async function readsBackIntact(db: MediaDb, row: MediaFileRow): Promise<boolean> {
  try {
    const blob = await readMediaBlob(db, row.id);
    return (
      blob !== null && blob.size === row.size && (await sha256Hex(await blob.arrayBuffer())) === row.sha256
    );
  } catch {
    return false;
  }
}

/** The file's bytes as a Blob (rebuilt from the ArrayBuffer fallback), or null if there are none. */
export async function readMediaBlob(db: MediaDb, id: string): Promise<Blob | null> {
  const content = await db.contents.get(id);
  if (content === undefined) return null;
  if (content.blob !== null) return content.blob;
  if (content.buffer !== null) return new Blob([content.buffer], { type: content.type });
  return null;
}
