/**
 * tus-js-client's URL storage, kept in the media database's `files` rows instead of localStorage (absent in a
 * service worker, and cleared separately from IndexedDB): the upload URL is saved in the same row as the file, so
 * after a reload, a crash or days offline the next upload of that file finds it and resumes at the server's
 * offset instead of sending accepted bytes again.
 *
 * The fingerprint is built from the file's id. tus-js-client's default (type, size, modification time…) collides
 * for Blobs of equal size, so two recordings of the same length would resume each other's uploads.
 */
import type { PreviousUpload, UrlStorage } from 'tus-js-client';
import type { MediaDb, MediaFileRow } from './media-db.ts';

const PREFIX = 'vitalwatch-media:';

export function fingerprintFor(fileId: string): string {
  return `${PREFIX}${fileId}`;
}

function fileIdOf(fingerprint: string): string | null {
  return fingerprint.startsWith(PREFIX) ? fingerprint.slice(PREFIX.length) : null;
}

function previousUpload(row: MediaFileRow): PreviousUpload & { fingerprint: string } {
  return {
    fingerprint: fingerprintFor(row.id),
    size: row.size,
    metadata: {},
    creationTime: row.uploadCreatedAt ?? '',
    // The row is the storage entry: its id is the key `removeUpload` gets back.
    urlStorageKey: row.id,
    uploadUrl: row.uploadUrl,
    parallelUploadUrls: null,
  };
}

export function createDexieUrlStorage(db: MediaDb): UrlStorage {
  return {
    async findAllUploads() {
      const rows = await db.files.filter((row) => row.uploadUrl !== null).toArray();
      return rows.map(previousUpload);
    },
    async findUploadsByFingerprint(fingerprint) {
      const id = fileIdOf(fingerprint);
      const row = id === null ? undefined : await db.files.get(id);
      return row === undefined || row.uploadUrl === null ? [] : [previousUpload(row)];
    },
    async removeUpload(urlStorageKey) {
      await db.files.update(urlStorageKey, { uploadUrl: null, uploadCreatedAt: null });
    },
    async addUpload(fingerprint, upload) {
      const id = fileIdOf(fingerprint);
      if (id === null) throw new Error(`not a VitalWatch media fingerprint: ${fingerprint}`);
      const updated = await db.files.update(id, {
        uploadUrl: upload.uploadUrl,
        uploadCreatedAt: upload.creationTime,
      });
      if (updated === 0) throw new Error(`no media file ${id} to keep an upload URL for`);
      return id;
    },
  };
}
