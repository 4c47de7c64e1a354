import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Signal, Timers } from '../sync/sync-loop.ts';
import { openMediaDb, type MediaDb, type MediaFileRow } from './media-db.ts';
import { storeCapture } from './media-store.ts';
import {
  orderForUpload,
  runUploadRound,
  INCIDENT_PENDING_MESSAGE,
  INCIDENT_PENDING_RETRY_MS,
  SIGNED_OUT_MESSAGE,
  startUploadQueue,
  type UploadJob,
  type UploadRoundDeps,
} from './upload-queue.ts';
import { createDexieUrlStorage } from './dexie-url-storage.ts';
import { createTusUploader } from './tus-uploader.ts';
import { classifyUploadError, SignedOutError, type UploadResult } from './upload-result.ts';

const USER = '0190a000-0000-7000-8000-0000000000aa';
const OPEN = '0190a000-0000-7000-8000-00000000000e';
const RESOLVED = '0190a000-0000-7000-8000-00000000000f';

let dbCount = 0;
const opened: MediaDb[] = [];
function freshDb(): MediaDb {
  const db = openMediaDb({ name: `upload-queue-test-${++dbCount}` });
  opened.push(db);
  return db;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.delete()));
});

let idCount = 0;
async function capture(db: MediaDb, incidentId: string, capturedAt: number, userId: string | null = USER) {
  const bytes = new Uint8Array(2_000);
  bytes.set([0x1a, 0x45, 0xdf, 0xa3], 0);
  bytes[100] = ++idCount;
  const { row } = await storeCapture(db, {
    id: `0190a000-0000-7000-8000-${String(idCount).padStart(12, '0')}`,
    incidentId,
    kind: 'audio',
    blob: new Blob([bytes], { type: 'audio/webm' }),
    capturedAt,
    durationMs: 1_000,
    location: null,
    userId,
  });
  return row;
}

/** A runner that answers from a script (default: uploaded) and records what it was given. */
function fakeRunner(
  script: (job: UploadJob, attempt: number) => UploadResult = () => ({ kind: 'uploaded' }),
) {
  const jobs: UploadJob[] = [];
  const runner = async (job: UploadJob): Promise<UploadResult> => {
    jobs.push(job);
    job.onProgress(job.file.size / 2);
    return script(job, jobs.length);
  };
  return { runner, jobs };
}

function deps(media: MediaDb, over: Partial<UploadRoundDeps> = {}): UploadRoundDeps {
  return {
    media,
    openIncidentIds: async () => new Set([OPEN]),
    incidentPending: async () => false,
    currentUserId: async () => USER,
    refreshAccessToken: async () => null,
    upload: fakeRunner().runner,
    now: () => 1_000,
    progressIntervalMs: 0,
    ...over,
  };
}

describe('the upload order', () => {
  it('puts files of open incidents first, then the oldest first', () => {
    const row = (id: string, incidentId: string, capturedAt: number) =>
      ({ id, incidentId, capturedAt }) as MediaFileRow;
    const files = [
      row('a', RESOLVED, 1),
      row('b', OPEN, 30),
      row('c', RESOLVED, 0),
      row('d', OPEN, 10),
      row('e', OPEN, 10),
    ];
    expect(orderForUpload(files, new Set([OPEN])).map((f) => f.id)).toEqual(['d', 'e', 'b', 'c', 'a']);
    expect(orderForUpload(files, new Set()).map((f) => f.id)).toEqual(['c', 'a', 'd', 'e', 'b']);
  });

  it('a round uploads one file at a time in that order and marks each uploaded', async () => {
    const media = freshDb();
    const old = await capture(media, RESOLVED, 100);
    const late = await capture(media, OPEN, 300);
    const early = await capture(media, OPEN, 200);
    const { runner, jobs } = fakeRunner();
    const outcome = await runUploadRound(deps(media, { upload: runner, now: () => 5_000 }));
    expect(outcome).toMatchObject({ kind: 'ok', pushed: 3 });
    expect(jobs.map((j) => j.file.id)).toEqual([early.id, late.id, old.id]);
    const rows = await media.files.toArray();
    expect(
      rows.every((r) => r.state === 'uploaded' && r.bytesSent === r.size && r.uploadedAt === 5_000),
    ).toBe(true);
    // The runner got the bytes, the object name and the file's hash.
    expect(jobs[0]?.blob.size).toBe(early.size);
    expect(jobs[0]?.file).toMatchObject({ objectName: early.objectName, sha256: early.sha256 });
  });
});

describe('an upload round', () => {
  it('marks a refused file failed-permanent with the server message, keeps its bytes, and goes on', async () => {
    const media = freshDb();
    const refused = await capture(media, OPEN, 1);
    const next = await capture(media, OPEN, 2);
    const { runner, jobs } = fakeRunner((job) =>
      job.file.id === refused.id
        ? {
            kind: 'refused',
            status: 415,
            code: 'content_mismatch',
            message: "the file's first bytes are not audio/webm",
          }
        : { kind: 'uploaded' },
    );
    expect(await runUploadRound(deps(media, { upload: runner }))).toMatchObject({ kind: 'ok', pushed: 1 });
    expect(jobs).toHaveLength(2);
    expect(await media.files.get(refused.id)).toMatchObject({
      state: 'failed-permanent',
      message: "the file's first bytes are not audio/webm",
    });
    expect(await media.contents.get(refused.id)).toBeDefined();
    expect((await media.files.get(next.id))?.state).toBe('uploaded');
    // Never retried by later rounds.
    await runUploadRound(deps(media, { upload: runner }));
    expect(jobs).toHaveLength(2);
  });

  it('stops at the first network failure and leaves the files waiting; the next round resumes them', async () => {
    const media = freshDb();
    const first = await capture(media, OPEN, 1);
    const second = await capture(media, OPEN, 2);
    const offline = fakeRunner(() => ({ kind: 'offline', error: 'Failed to fetch' }));
    expect(await runUploadRound(deps(media, { upload: offline.runner }))).toEqual({
      kind: 'offline',
      error: 'Failed to fetch',
    });
    expect(offline.jobs.map((j) => j.file.id)).toEqual([first.id]);
    expect(await media.files.get(first.id)).toMatchObject({ state: 'waiting', bytesSent: first.size / 2 });
    expect((await media.files.get(second.id))?.state).toBe('waiting');

    const online = fakeRunner();
    await runUploadRound(deps(media, { upload: online.runner }));
    expect(online.jobs.map((j) => j.file.id)).toEqual([first.id, second.id]);
  });

  it('picks up a file a closed page left "uploading"', async () => {
    const media = freshDb();
    const row = await capture(media, OPEN, 1);
    await media.files.update(row.id, { state: 'uploading', bytesSent: 500 });
    const { runner, jobs } = fakeRunner();
    await runUploadRound(deps(media, { upload: runner }));
    expect(jobs.map((j) => j.file.id)).toEqual([row.id]);
  });

  it('signed out: nothing is sent and the files say they wait for a sign-in; the name is fixed at the first upload', async () => {
    const media = freshDb();
    const row = await capture(media, OPEN, 1, null);
    const { runner, jobs } = fakeRunner();
    expect(await runUploadRound(deps(media, { upload: runner, currentUserId: async () => null }))).toEqual({
      kind: 'unauthorized',
    });
    expect(jobs).toEqual([]);
    expect(await media.files.get(row.id)).toMatchObject({
      state: 'waiting',
      message: SIGNED_OUT_MESSAGE,
      objectName: null,
    });

    await runUploadRound(deps(media, { upload: runner }));
    expect(jobs[0]?.file.objectName).toBe(`user-${USER}/incident-${OPEN}/audio-${row.id}.webm`);
    expect(await media.files.get(row.id)).toMatchObject({ state: 'uploaded', message: null });
  });

  it('a 401 refreshes the token once and retries; a second 401 waits for a sign-in', async () => {
    const media = freshDb();
    const row = await capture(media, OPEN, 1);
    let refreshes = 0;
    const once = fakeRunner((_job, attempt) =>
      attempt === 1 ? { kind: 'unauthorized' } : { kind: 'uploaded' },
    );
    await runUploadRound(
      deps(media, { upload: once.runner, refreshAccessToken: async () => `t${++refreshes}` }),
    );
    expect(once.jobs).toHaveLength(2);
    expect((await media.files.get(row.id))?.state).toBe('uploaded');

    const other = await capture(media, OPEN, 2);
    const always = fakeRunner(() => ({ kind: 'unauthorized' }));
    expect(
      await runUploadRound(
        deps(media, { upload: always.runner, refreshAccessToken: async () => `t${++refreshes}` }),
      ),
    ).toEqual({ kind: 'unauthorized' });
    expect(always.jobs).toHaveLength(2);
    expect(await media.files.get(other.id)).toMatchObject({ state: 'waiting', message: SIGNED_OUT_MESSAGE });
  });

  it("files wait while their incident's trigger is not at the server yet, so the server can link them", async () => {
    const media = freshDb();
    const blocked = await capture(media, OPEN, 1);
    const free = await capture(media, RESOLVED, 2);
    const { runner, jobs } = fakeRunner();
    const pending = new Set([OPEN]);
    const round = () =>
      runUploadRound(deps(media, { upload: runner, incidentPending: async (id) => pending.has(id) }));
    expect(await round()).toEqual({
      kind: 'retry-later',
      status: 0,
      retryAfterMs: INCIDENT_PENDING_RETRY_MS,
    });
    expect(jobs.map((j) => j.file.id)).toEqual([free.id]);
    expect(await media.files.get(blocked.id)).toMatchObject({
      state: 'waiting',
      message: INCIDENT_PENDING_MESSAGE,
    });

    pending.clear();
    expect(await round()).toMatchObject({ kind: 'ok', pushed: 1 });
    expect(await media.files.get(blocked.id)).toMatchObject({ state: 'uploaded', message: null });
  });

  it('an object already at the path (this file, whose last answer was lost) counts as uploaded', async () => {
    const media = freshDb();
    const row = await capture(media, OPEN, 1);
    await runUploadRound(deps(media, { upload: fakeRunner(() => ({ kind: 'exists' })).runner }));
    expect((await media.files.get(row.id))?.state).toBe('uploaded');
  });
});

describe('uploads to Supabase Storage, verified by the server', () => {
  const supabaseSession = {
    accessToken: 'tok',
    refreshToken: 'r',
    expiresAt: Number.MAX_SAFE_INTEGER,
    userId: USER,
    email: null,
    authUrl: 'https://x.supabase.co/auth/v1',
    anonKey: 'anon',
  };

  it('bytes stored at Supabase but not verified (offline) are kept stored; the next attempt only asks the server', async () => {
    const media = freshDb();
    const row = await capture(media, OPEN, 1);
    const stored = fakeRunner(() => ({ kind: 'offline', error: 'Failed to fetch' }));
    const storingRunner = async (job: UploadJob) => {
      await job.markStored();
      return stored.runner(job);
    };
    await runUploadRound(deps(media, { upload: storingRunner, now: () => 7_000 }));
    expect(await media.files.get(row.id)).toMatchObject({ state: 'waiting', storedAt: 7_000 });

    // The real uploader: a stored file goes straight to the verify step (tus would need a network here).
    const asked: Record<string, string>[] = [];
    const upload = createTusUploader({
      session: async () => supabaseSession,
      getAccessToken: async () => 'tok',
      urlStorage: createDexieUrlStorage(media),
      serverOrigin: 'https://app.example',
      verify: async (metadata) => {
        asked.push(metadata);
        return { kind: 'uploaded' };
      },
    });
    expect(await runUploadRound(deps(media, { upload }))).toMatchObject({ kind: 'ok', pushed: 1 });
    expect(asked).toEqual([
      expect.objectContaining({ objectName: row.objectName, sha256: row.sha256, mediaId: row.id }),
    ]);
    expect(await media.files.get(row.id)).toMatchObject({ state: 'uploaded', storedAt: null });
  });

  it('a verify 422/404 ("resend") sends the whole file again: stored mark, tus URL and progress cleared, bytes kept', async () => {
    const media = freshDb();
    const bad = await capture(media, OPEN, 1);
    const next = await capture(media, OPEN, 2);
    await media.files.update(bad.id, { uploadUrl: 'https://x.supabase.co/upload/1', storedAt: 5 });
    const { runner, jobs } = fakeRunner((job) =>
      job.file.id === bad.id
        ? { kind: 'resend', message: "The stored file's SHA-256 differs." }
        : { kind: 'uploaded' },
    );
    expect(await runUploadRound(deps(media, { upload: runner }))).toMatchObject({ kind: 'ok', pushed: 1 });
    expect(await media.files.get(bad.id)).toMatchObject({
      state: 'waiting',
      bytesSent: 0,
      storedAt: null,
      uploadUrl: null,
      message: "The stored file's SHA-256 differs. Sending it again.",
    });
    expect(await media.contents.get(bad.id)).toBeDefined();
    expect((await media.files.get(next.id))?.state).toBe('uploaded');
    // The next round tries it again.
    await runUploadRound(deps(media, { upload: runner }));
    expect(jobs.map((j) => j.file.id)).toEqual([bad.id, next.id, bad.id]);
  });
});

describe('classifying how an upload ended', () => {
  const response = (status: number, body = '', headers: Record<string, string> = {}) => ({
    originalRequest: {},
    originalResponse: {
      getStatus: () => status,
      getBody: () => body,
      getHeader: (name: string) => headers[name],
    },
  });
  const json = (code: string, message: string) => JSON.stringify({ error_code: code, message });

  it('permanent 4xx are refused with the server message; the rest waits', () => {
    expect(classifyUploadError(response(415, json('content_mismatch', 'not audio/webm')))).toEqual({
      kind: 'refused',
      status: 415,
      code: 'content_mismatch',
      message: 'not audio/webm',
    });
    for (const [status, code] of [
      [413, 'file_too_large'],
      [403, 'not_your_folder'],
      [400, 'invalid_object_name'],
      [422, 'hash_mismatch'],
      [409, 'path_conflict'],
    ] as const) {
      expect(classifyUploadError(response(status, json(code, 'why')))).toMatchObject({
        kind: 'refused',
        code,
      });
    }
    expect(classifyUploadError(response(403, '<html>Forbidden</html>'))).toMatchObject({
      kind: 'refused',
      code: 'http_403',
      message: '<html>Forbidden</html>',
    });
    expect(classifyUploadError(response(409, json('already_exists', 'x')))).toEqual({ kind: 'exists' });
    expect(classifyUploadError(response(409, json('offset_mismatch', 'x')))).toMatchObject({
      kind: 'retry-later',
    });
    expect(classifyUploadError(response(503, '', { 'Retry-After': '2' }))).toEqual({
      kind: 'retry-later',
      status: 503,
      retryAfterMs: 2_000,
    });
    for (const status of [404, 410, 423, 429, 500]) {
      expect(classifyUploadError(response(status))).toMatchObject({ kind: 'retry-later', status });
    }
    expect(classifyUploadError(response(401, json('bad_jwt', 'expired')))).toEqual({ kind: 'unauthorized' });
    expect(classifyUploadError({ causingError: new SignedOutError(), originalResponse: null })).toEqual({
      kind: 'unauthorized',
    });
    expect(
      classifyUploadError({ causingError: new Error('Failed to fetch'), originalResponse: null }),
    ).toEqual({ kind: 'offline', error: 'Failed to fetch' });
  });
});

describe('the upload queue', () => {
  it('runs at start, after a nudge and when the network comes back', async () => {
    const media = freshDb();
    let t = 0;
    const due: Array<{ at: number; callback: () => void }> = [];
    const timers: Timers = {
      now: () => t,
      setTimeout: (callback, ms) => due.push({ at: t + ms, callback }),
      clearTimeout: () => undefined,
    };
    const fire = () => {
      due.sort((a, b) => a.at - b.at);
      const next = due.shift();
      if (next !== undefined) {
        t = next.at;
        next.callback();
      }
    };
    const listeners = new Set<() => void>();
    const online: Signal = {
      subscribe: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    let network = true;
    const { runner, jobs } = fakeRunner(() =>
      network ? { kind: 'uploaded' } : { kind: 'offline', error: 'down' },
    );
    const queue = startUploadQueue({ ...deps(media, { upload: runner }), timers, onlineEvents: online });
    fire();
    await queue.idle();
    expect(jobs).toHaveLength(0);

    network = false;
    const row = await capture(media, OPEN, 1);
    queue.nudge();
    fire();
    await queue.idle();
    expect(jobs).toHaveLength(1);
    expect((await media.files.get(row.id))?.state).toBe('waiting');

    network = true;
    for (const listener of listeners) listener();
    fire();
    await queue.idle();
    expect(jobs).toHaveLength(2);
    expect((await media.files.get(row.id))?.state).toBe('uploaded');
    queue.stop();
  });
});
