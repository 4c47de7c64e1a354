/**
 * Photo evidence from `<input type="file" accept="image/*" capture="environment">` (the camera on a phone, a
 * file picker elsewhere): hash, store and nudge the upload queue. The type is taken from the bytes, not from the
 * file's name or `File.type` (media-store.ts).
 */
import type { CaptureLocation, MediaDb, MediaFileRow } from './media-db.ts';
import { storeCapture } from './media-store.ts';

export interface TakePhotoOptions {
  readonly media: MediaDb;
  readonly incidentId: string;
  readonly file: File;
  readonly location: CaptureLocation | null;
  readonly userId: string | null;
  readonly onStored: (row: MediaFileRow) => void;
  readonly now?: () => number;
}

/** Rejects with MediaStorageFullError or MediaStoreError only. */
export async function takePhoto(options: TakePhotoOptions): Promise<MediaFileRow> {
  const now = (options.now ?? (() => Date.now()))();
  // A camera photo's lastModified is the moment it was taken; a picked one's is older (never later than now).
  const capturedAt = options.file.lastModified > 0 ? Math.min(options.file.lastModified, now) : now;
  const { row } = await storeCapture(options.media, {
    incidentId: options.incidentId,
    kind: 'photo',
    blob: options.file,
    capturedAt,
    durationMs: null,
    location: options.location,
    userId: options.userId,
  });
  options.onStored(row);
  return row;
}
