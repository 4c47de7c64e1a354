import 'fake-indexeddb/auto';
import { Upload } from 'tus-js-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createDexieUrlStorage, fingerprintFor } from './dexie-url-storage.ts';
import { openMediaDb, type MediaDb, type MediaFileRow } from './media-db.ts';
import { storeCapture } from './media-store.ts';

let dbCount = 0;
const opened: MediaDb[] = [];
function freshDb(): MediaDb {
  const db = openMediaDb({ name: `url-storage-test-${++dbCount}` });
  opened.push(db);
  return db;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.delete()));
});

const INCIDENT = '0190a000-0000-7000-8000-0000000000bb';

async function recording(db: MediaDb, id: string, size = 1_000): Promise<MediaFileRow> {
  const bytes = new Uint8Array(size);
  bytes.set([0x1a, 0x45, 0xdf, 0xa3], 0);
  const { row } = await storeCapture(db, {
    id,
    incidentId: INCIDENT,
    kind: 'audio',
    blob: new Blob([bytes], { type: 'audio/webm' }),
    capturedAt: 1,
    durationMs: 1_000,
    location: null,
    userId: null,
  });
  return row;
}

/** What tus-js-client computes for a file with our options (no network: only the fingerprint step runs). */
async function tusFingerprint(db: MediaDb, row: MediaFileRow, blob: Blob): Promise<string[]> {
  const storage = createDexieUrlStorage(db);
  const seen: string[] = [];
  const upload = new Upload(blob, {
    endpoint: 'http://server.test/storage/v1/upload/resumable',
    fingerprint: async () => fingerprintFor(row.id),
    urlStorage: {
      ...storage,
      findUploadsByFingerprint: (fingerprint) => {
        seen.push(fingerprint);
        return storage.findUploadsByFingerprint(fingerprint);
      },
    },
  });
  await upload.findPreviousUploads();
  return seen;
}

describe("tus-js-client's URL storage in the media database", () => {
  it('fingerprints come from the file id: stable, and distinct for equal-size files', async () => {
    const db = freshDb();
    const a = await recording(db, '0190a000-0000-7000-8000-00000000000a', 4_096);
    const b = await recording(db, '0190a000-0000-7000-8000-00000000000b', 4_096);
    const sameSize = new Blob([new Uint8Array(4_096)], { type: 'audio/webm' });
    expect(fingerprintFor(a.id)).toBe(fingerprintFor(a.id));
    expect(fingerprintFor(a.id)).not.toBe(fingerprintFor(b.id));
    // What tus-js-client looks up: the same for the same file whatever Blob object carries its bytes.
    expect(await tusFingerprint(db, a, sameSize)).toEqual([fingerprintFor(a.id)]);
    expect(await tusFingerprint(db, a, new Blob([new Uint8Array(4_096)]))).toEqual([fingerprintFor(a.id)]);
    expect(await tusFingerprint(db, b, sameSize)).toEqual([fingerprintFor(b.id)]);
  });

  it('keeps the upload URL in the file row: add, find (also after reopening), remove', async () => {
    const db = freshDb();
    const row = await recording(db, '0190a000-0000-7000-8000-00000000000c');
    const other = await recording(db, '0190a000-0000-7000-8000-00000000000d');
    const storage = createDexieUrlStorage(db);
    expect(await storage.findUploadsByFingerprint(fingerprintFor(row.id))).toEqual([]);

    const url = 'http://server.test/storage/v1/upload/resumable/abc123';
    const key = await storage.addUpload(fingerprintFor(row.id), {
      size: row.size,
      metadata: { objectName: 'x' },
      creationTime: 'Mon Jan 05 2026',
      urlStorageKey: '',
      uploadUrl: url,
      parallelUploadUrls: null,
    });
    expect(key).toBe(row.id);
    expect(await db.files.get(row.id)).toMatchObject({ uploadUrl: url, uploadCreatedAt: 'Mon Jan 05 2026' });

    // A reload: a new database connection and a new storage object find it.
    db.close();
    const reopened = openMediaDb({ name: db.name });
    opened.push(reopened);
    const again = createDexieUrlStorage(reopened);
    const found = await again.findUploadsByFingerprint(fingerprintFor(row.id));
    expect(found).toEqual([
      expect.objectContaining({ uploadUrl: url, urlStorageKey: row.id, size: row.size }),
    ]);
    expect(await again.findUploadsByFingerprint(fingerprintFor(other.id))).toEqual([]);
    expect(await again.findUploadsByFingerprint('tus::someone-else')).toEqual([]);
    expect((await again.findAllUploads()).map((u) => u.uploadUrl)).toEqual([url]);

    // tus-js-client resumes from what the storage gives it.
    const upload = new Upload(new Blob([new Uint8Array(row.size)]), {
      endpoint: 'http://server.test/storage/v1/upload/resumable',
      fingerprint: async () => fingerprintFor(row.id),
      urlStorage: again,
    });
    const [previous] = await upload.findPreviousUploads();
    expect(previous?.uploadUrl).toBe(url);

    await again.removeUpload(key);
    expect(await again.findUploadsByFingerprint(fingerprintFor(row.id))).toEqual([]);
    expect(await reopened.files.get(row.id)).toMatchObject({ uploadUrl: null, uploadCreatedAt: null });
    // The file itself is untouched.
    expect(await reopened.files.get(row.id)).toMatchObject({ sha256: row.sha256, state: 'waiting' });
  });

  it('refuses to keep a URL for a fingerprint that names no file', async () => {
    const storage = createDexieUrlStorage(freshDb());
    const upload = {
      size: 1,
      metadata: {},
      creationTime: '',
      urlStorageKey: '',
      uploadUrl: 'http://x/1',
      parallelUploadUrls: null,
    };
    await expect(storage.addUpload('tus::blob', upload)).rejects.toThrow(
      /not a VitalWatch media fingerprint/,
    );
    await expect(
      storage.addUpload(fingerprintFor('0190a000-0000-7000-8000-0000000000ff'), upload),
    ).rejects.toThrow(/no media file/);
  });
});
