import 'fake-indexeddb/auto';
import { Dexie } from 'dexie';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openMediaDb, type MediaContentRow, type MediaDb } from './media-db.ts';
import {
  isQuotaError,
  MediaStorageFullError,
  MediaStoreError,
  readMediaBlob,
  storeCapture,
  type Capture,
} from './media-store.ts';

const USER = '0190a000-0000-7000-8000-0000000000aa';
const INCIDENT = '0190a000-0000-7000-8000-0000000000bb';

let dbCount = 0;
const opened: MediaDb[] = [];
function freshDb(): MediaDb {
  const db = openMediaDb({ name: `media-store-test-${++dbCount}` });
  opened.push(db);
  return db;
}
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((db) => db.delete()));
});

function webm(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) % 256;
  bytes.set([0x1a, 0x45, 0xdf, 0xa3], 0);
  return bytes;
}

function jpeg(size: number): Uint8Array<ArrayBuffer> {
  const bytes = webm(size);
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0);
  return bytes;
}

async function hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function audio(bytes: Uint8Array<ArrayBuffer>, over: Partial<Capture> = {}): Capture {
  return {
    incidentId: INCIDENT,
    kind: 'audio',
    blob: new Blob([bytes], { type: 'audio/webm;codecs=opus' }),
    capturedAt: 1_767_225_600_000,
    durationMs: 3_000,
    location: { lat: 51.5, lng: -0.12, accuracyM: 20, at: 1_767_225_590_000 },
    userId: USER,
    ...over,
  };
}

async function bytesOf(db: MediaDb, id: string): Promise<Uint8Array> {
  const blob = await readMediaBlob(db, id);
  if (blob === null) throw new Error('no bytes');
  return new Uint8Array(await blob.arrayBuffer());
}

/** Makes `contents.put` refuse rows that carry a Blob, as Safari's IndexedDB does intermittently. */
function refuseBlobs(db: MediaDb, error: () => Error) {
  const realPut = db.contents.put.bind(db.contents);
  return vi
    .spyOn(db.contents, 'put')
    .mockImplementation((row: MediaContentRow, key?: string) =>
      row.blob !== null ? Dexie.Promise.reject(error()) : realPut(row, key),
    );
}

describe('keeping a capture on the device', () => {
  it('stores the row and the Blob, hashed at capture, with an object name under the user and incident', async () => {
    const db = freshDb();
    const bytes = webm(50_000);
    const { row, storedAs } = await storeCapture(
      db,
      audio(bytes, { id: '0190a000-0000-7000-8000-000000000001' }),
    );
    expect(storedAs).toBe('blob');
    expect(row).toMatchObject({
      kind: 'audio',
      contentType: 'audio/webm;codecs=opus',
      size: 50_000,
      sha256: await hex(bytes),
      state: 'waiting',
      message: null,
      bytesSent: 0,
      uploadUrl: null,
      objectName: `user-${USER}/incident-${INCIDENT}/audio-0190a000-0000-7000-8000-000000000001.webm`,
    });
    expect(await db.files.get(row.id)).toEqual(row);
    const content = await db.contents.get(row.id);
    expect(content?.blob).toBeInstanceOf(Blob);
    expect(content?.buffer).toBeNull();
    expect(await bytesOf(db, row.id)).toEqual(bytes);
  });

  it('falls back to an ArrayBuffer when putting a Blob fails, and rebuilds the Blob on read', async () => {
    const db = freshDb();
    refuseBlobs(
      db,
      () => new DOMException('Error preparing Blob/File data to be stored in object store', 'UnknownError'),
    );
    const bytes = webm(20_000);
    const { row, storedAs } = await storeCapture(db, audio(bytes));
    expect(storedAs).toBe('buffer');
    const content = await db.contents.get(row.id);
    expect(content?.blob).toBeNull();
    expect(content?.buffer).toBeInstanceOf(ArrayBuffer);
    const blob = await readMediaBlob(db, row.id);
    expect(blob?.type).toBe('audio/webm;codecs=opus');
    expect(await bytesOf(db, row.id)).toEqual(bytes);
    expect(await db.files.get(row.id)).toMatchObject({ state: 'waiting', sha256: await hex(bytes) });
  });

  it('falls back to an ArrayBuffer when a stored Blob cannot be read back (Dexie#1919)', async () => {
    const db = freshDb();
    const realGet = db.contents.get.bind(db.contents);
    let reads = 0;
    vi.spyOn(db.contents, 'get').mockImplementation(((key: string) =>
      realGet(key).then((content) => {
        reads += 1;
        if (reads > 1 || content?.blob == null) return content;
        const unreadable = new Blob([new Uint8Array(content.blob.size)], { type: content.blob.type });
        unreadable.arrayBuffer = () =>
          Promise.reject(new DOMException('The file could not be read', 'NotReadableError'));
        return { ...content, blob: unreadable };
      })) as typeof db.contents.get);
    const bytes = jpeg(9_000);
    const { row, storedAs } = await storeCapture(db, {
      ...audio(bytes),
      kind: 'photo',
      blob: new Blob([bytes], { type: 'image/jpeg' }),
      durationMs: null,
    });
    expect(storedAs).toBe('buffer');
    expect(await bytesOf(db, row.id)).toEqual(bytes);
  });

  it('maps a full quota to MediaStorageFullError with a message for the user', async () => {
    const db = freshDb();
    vi.spyOn(db.contents, 'put').mockImplementation(() =>
      Dexie.Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError')),
    );
    const failure = storeCapture(db, audio(webm(1_000)));
    await expect(failure).rejects.toBeInstanceOf(MediaStorageFullError);
    await expect(failure).rejects.toThrow(/^Not enough space on this device to keep the recording/);
    expect(await db.files.count()).toBe(0);
  });

  it('maps a quota error met by the ArrayBuffer fallback too, and any other failure to MediaStoreError', async () => {
    const db = freshDb();
    let calls = 0;
    vi.spyOn(db.contents, 'put').mockImplementation(() => {
      calls += 1;
      return Dexie.Promise.reject(
        calls === 1
          ? new DOMException('blob', 'DataCloneError')
          : new DOMException('full', 'QuotaExceededError'),
      );
    });
    await expect(storeCapture(db, audio(webm(1_000)))).rejects.toBeInstanceOf(MediaStorageFullError);

    const other = freshDb();
    vi.spyOn(other.contents, 'put').mockImplementation(() =>
      Dexie.Promise.reject(new DOMException('broken', 'UnknownError')),
    );
    const failure = storeCapture(other, { ...audio(jpeg(1_000)), kind: 'photo' });
    await expect(failure).rejects.toBeInstanceOf(MediaStoreError);
    await expect(failure).rejects.toThrow(/could not keep the photo/);
  });

  it('recognises quota errors however the browser or Dexie wraps them', () => {
    expect(isQuotaError(new DOMException('x', 'QuotaExceededError'))).toBe(true);
    expect(isQuotaError(new Dexie.QuotaExceededError('full'))).toBe(true);
    expect(isQuotaError(new Dexie.AbortError('aborted', new DOMException('x', 'QuotaExceededError')))).toBe(
      true,
    );
    expect(isQuotaError({ name: 'NS_ERROR_DOM_QUOTA_REACHED' })).toBe(true);
    expect(isQuotaError({ name: 'Error', code: 22 })).toBe(true);
    expect(isQuotaError(new Error('x', { cause: new DOMException('x', 'QuotaExceededError') }))).toBe(true);
    expect(isQuotaError(new DOMException('x', 'DataCloneError'))).toBe(false);
    expect(isQuotaError(new Dexie.AbortError('aborted'))).toBe(false);
    expect(isQuotaError(null)).toBe(false);
  });

  it('declares the type the bytes show, not the one the picker reported', async () => {
    const db = freshDb();
    const bytes = jpeg(4_000);
    const { row } = await storeCapture(db, {
      ...audio(bytes),
      kind: 'photo',
      blob: new Blob([bytes], { type: '' }),
      durationMs: null,
    });
    expect(row.contentType).toBe('image/jpeg');
    expect(row.objectName).toBe(`user-${USER}/incident-${INCIDENT}/photos/photo-${row.id}.jpg`);
    expect((await readMediaBlob(db, row.id))?.type).toBe('image/jpeg');
  });

  it('keeps a file the server would refuse (unknown type, too big, empty) but marks it failed-permanent', async () => {
    const db = freshDb();
    const gif = new TextEncoder().encode('GIF89a and then some pixels');
    const { row: notStored } = await storeCapture(db, {
      ...audio(new Uint8Array(gif)),
      kind: 'photo',
      blob: new Blob([gif], { type: 'image/gif' }),
    });
    expect(notStored).toMatchObject({ state: 'failed-permanent', contentType: 'image/gif' });
    expect(notStored.message).toMatch(/"image\/gif".*JPEG, PNG, WebP and HEIC.*kept on this phone/);
    expect(await bytesOf(db, notStored.id)).toEqual(gif);

    const { row: big } = await storeCapture(db, {
      ...audio(jpeg(10 * 1024 * 1024 + 1)),
      kind: 'photo',
      blob: new Blob([jpeg(10 * 1024 * 1024 + 1)], { type: 'image/jpeg' }),
    });
    expect(big.state).toBe('failed-permanent');
    expect(big.message).toMatch(/10\.0 MB.*up to 10\.0 MB/);

    const { row: empty } = await storeCapture(db, audio(new Uint8Array(0)));
    expect(empty).toMatchObject({
      state: 'failed-permanent',
      message: expect.stringMatching(/empty/) as unknown,
    });
  });

  it('leaves the object name to the upload queue when nobody is signed in', async () => {
    const db = freshDb();
    const { row } = await storeCapture(db, audio(webm(100), { userId: null }));
    expect(row.objectName).toBeNull();
  });
});
