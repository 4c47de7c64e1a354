/**
 * The evidence files captured on this device, in their own Dexie database `vitalwatch-media` (not the synced
 * `vitalwatch` one: files are uploaded by tus, not through the outbox, and a reset of the synced tables must
 * never touch them).
 *
 * - `files`: one row per capture: what it is, its hash, where and when, and its upload state. Small, so the
 *   screen's live query and the queue's progress writes never read or rewrite the bytes.
 * - `contents`: the bytes, keyed by the same id, as a Blob, or as an ArrayBuffer where storing a Blob failed
 *   (Safari's IndexedDB Blob bugs, docs/platform-facts.md; media-store.ts decides).
 *
 * A file's bytes stay on the device after it is uploaded and after the server refused it: nothing here deletes
 * them. Upload state, as the screen shows it:
 *
 *   waiting ──queue picks it──▶ uploading ──server completed it (hash checked, row written)──▶ uploaded
 *   (to Supabase Storage: tus completes → `storedAt` set → the server verifies → uploaded; 422/404 → waiting, sent
 *   again from the first byte)
 *      ▲                            │ network error, 5xx, offline, signed out
 *      └────────────────────────────┘ permanent 4xx (type, size, path, hash) ──▶ failed-permanent (+ message)
 *                                                        "Try again" ──▶ waiting
 */
import { Dexie, type DexieOptions, type Table } from 'dexie';
import type { EvidenceKind } from './evidence-types.ts';
import { MEDIA_DB_NAME } from './media-db-name.ts';

export type UploadState = 'waiting' | 'uploading' | 'uploaded' | 'failed-permanent';

export interface CaptureLocation {
  lat: number;
  lng: number;
  accuracyM: number;
  /** When the fix was taken (ms since the epoch). */
  at: number;
}

export interface MediaFileRow {
  /** UUIDv7; also the `mediaId` the server records, and the tus fingerprint's source. */
  id: string;
  incidentId: string;
  kind: EvidenceKind;
  /** Declared to the server as `contentType`. */
  contentType: string;
  size: number;
  /** SHA-256 of the bytes (hex), computed at capture; the server compares its own on completion. */
  sha256: string;
  /** ms since the epoch. */
  capturedAt: number;
  durationMs: number | null;
  /** The device's last known fix at capture, if any. */
  location: CaptureLocation | null;
  /**
   * `user-{id}/incident-{id}/…` in the `emergency` bucket: fixed at capture when signed in, else at the first
   * upload attempt (the device belongs to one account, local-db.ts bindUser).
   */
  objectName: string | null;
  state: UploadState;
  /** failed-permanent: the server's reason; waiting: the last transient problem, if any. */
  message: string | null;
  /** Bytes the server accepted or that are in flight (progress only; the server's offset is authoritative). */
  bytesSent: number;
  /** The tus upload URL, kept so an upload resumes after a reload or days offline (dexie-url-storage.ts). */
  uploadUrl: string | null;
  /** When the tus upload was created (tus-js-client's `creationTime`). */
  uploadCreatedAt: string | null;
  /**
   * When the bytes reached Supabase Storage (tus completed) while the server had not yet verified them
   * (verify-upload.ts): the next attempt only asks the server again. Absent in rows written before it existed.
   */
  storedAt?: number | null;
  uploadedAt: number | null;
}

export interface MediaContentRow {
  id: string;
  /** Exactly one of blob and buffer is set. */
  blob: Blob | null;
  buffer: ArrayBuffer | null;
  /** The Blob type to rebuild from `buffer`. */
  type: string;
}

export interface MediaDbVersion {
  readonly version: number;
  readonly stores: Readonly<Record<string, string | null>>;
}

/** Every version ever shipped, oldest first. Append; never edit a shipped entry. */
export const MEDIA_DB_VERSIONS: readonly MediaDbVersion[] = [
  {
    version: 1,
    stores: {
      files: 'id, incidentId, state, capturedAt',
      contents: 'id',
    },
  },
];

export class MediaDb extends Dexie {
  declare files: Table<MediaFileRow, string>;
  declare contents: Table<MediaContentRow, string>;

  constructor(name: string, options?: DexieOptions) {
    super(name, options);
    for (const v of MEDIA_DB_VERSIONS) this.version(v.version).stores(v.stores);
  }
}

export function openMediaDb(options: { name?: string; dexie?: DexieOptions } = {}): MediaDb {
  return new MediaDb(options.name ?? MEDIA_DB_NAME, options.dexie);
}

/** Files of one incident, oldest first (the screen's list). */
export function filesOfIncident(db: MediaDb, incidentId: string): Promise<MediaFileRow[]> {
  return db.files.where('incidentId').equals(incidentId).sortBy('capturedAt');
}
