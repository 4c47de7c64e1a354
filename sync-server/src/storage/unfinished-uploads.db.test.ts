/**
 * The allowance of unfinished uploads per account (SE6) and how long uploads are kept (SE7), against the real
 * server on PGlite and Postgres, with its clock in the test's hands.
 */
import path from 'node:path';
import { FileStore } from '@tus/file-store';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId, type IncidentId } from '@vitalwatch/schema/ids';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { UPLOAD_PATH } from './upload-routes.ts';
import { EVIDENCE_KEPT_MS, UnfinishedUploads, type UploadLimits } from './unfinished-uploads.ts';
import {
  createIncident,
  fakeJpeg,
  fakeWebm,
  sha256Hex,
  signUp,
  startStorageServer,
  type Account,
  type StorageServer,
} from '../../test/storage-test-kit.ts';

const HOUR_MS = 60 * 60 * 1000;
const LIMITS: UploadLimits = { unfinishedPerAccount: 3, abandonedAfterMs: 24 * HOUR_MS };

describeOnEachDatabase('unfinished uploads: the allowance per account and the sweep', (database) => {
  let server: StorageServer;
  let ama: Account;
  let kofi: Account;
  let incidentId: IncidentId;

  beforeAll(async () => {
    server = await startStorageServer(database(), { uploadLimits: LIMITS });
    ama = await signUp(server);
    kofi = await signUp(server);
    incidentId = await createIncident(database().db, ama);
  });
  afterAll(() => server.close());

  /** Creates an upload of `file` (tus POST, no bytes) as a device whose answer may then be lost. */
  async function create(account: Account, bucket: string, name: string, contentType: string, file: Buffer) {
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const response = await fetch(`${server.url}${UPLOAD_PATH}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${account.token}`,
        'tus-resumable': '1.0.0',
        'upload-length': String(file.length),
        'upload-metadata': [
          `bucketName ${b64(bucket)}`,
          `objectName ${b64(`user-${account.userId}/${name}`)}`,
          `contentType ${b64(contentType)}`,
          `sha256 ${b64(sha256Hex(file))}`,
        ].join(','),
      },
    });
    const text = await response.text();
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      url: new URL(response.headers.get('location') ?? '/', server.url).href,
    };
  }

  const avatar = (account: Account, name: string, file = fakeJpeg(2000)) =>
    create(account, 'avatars', name, 'image/jpeg', file);

  async function tus(url: string, method: string, account: Account, body?: Buffer) {
    const response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${account.token}`,
        'tus-resumable': '1.0.0',
        ...(body && { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }),
      },
      ...(body && { body }),
    });
    await response.arrayBuffer();
    return { status: response.status, offset: response.headers.get('upload-offset') };
  }

  it('[SE6] refuses a fourth unfinished upload with 429 naming the limit; finishing or deleting one makes room', async () => {
    const first = fakeJpeg(2000);
    const made = [
      await avatar(ama, 'a1.jpg', first),
      await avatar(ama, 'a2.jpg'),
      await avatar(ama, 'a3.jpg'),
    ];
    expect(made.map((m) => m.status)).toEqual([201, 201, 201]);

    const fourth = await avatar(ama, 'a4.jpg');
    expect(fourth.status).toBe(429);
    expect(fourth.body).toMatchObject({ error_code: 'too_many_unfinished_uploads' });
    expect(String(fourth.body.message)).toContain('3 unfinished uploads');
    expect(String(fourth.body.message)).toContain('UPLOAD_UNFINISHED_LIMIT=3');
    // When the oldest, idle since its creation, would be swept: 24 h from now (give or take the seconds by which
    // the test's clock, stopped at the server's start, lags the files' real times).
    expect(Number(fourth.retryAfter)).toBeGreaterThan(23 * 3600);
    expect(Number(fourth.retryAfter)).toBeLessThanOrEqual(24 * 3600 + 120);
    // Another account's allowance is its own.
    expect((await avatar(kofi, 'k1.jpg')).status).toBe(201);

    // Finishing one frees its place...
    expect(await tus(made[0]!.url, 'PATCH', ama, first)).toMatchObject({ status: 204 });
    expect((await avatar(ama, 'a4.jpg')).status).toBe(201);
    expect((await avatar(ama, 'a5.jpg')).status).toBe(429);
    // ...and so does deleting one (tus termination).
    expect((await tus(made[1]!.url, 'DELETE', ama)).status).toBe(204);
    expect((await avatar(ama, 'a5.jpg')).status).toBe(201);
    expect((await avatar(ama, 'a6.jpg')).status).toBe(429);
  });

  it('[SE6] SOS evidence is never refused, even with the allowance full, and never counted, however many creations a dropping link costs', async () => {
    const recordings = async (account: Account, incident: IncidentId, count: number) => {
      const statuses: number[] = [];
      // Creations whose answers were lost on the way back: each left an unfinished upload on the server.
      for (let attempt = 0; attempt < count; attempt++) {
        const name = `incident-${incident}/audio-${attempt}.webm`;
        statuses.push(
          (await create(account, 'emergency', name, 'audio/webm;codecs=opus', fakeWebm(3_000_000))).status,
        );
      }
      return statuses;
    };
    // Ama's allowance is full: her SOS recordings and photos still go up.
    expect((await avatar(ama, 'full.jpg')).status).toBe(429);
    expect(await recordings(ama, incidentId, 30)).toEqual(Array<number>(30).fill(201));
    const photo = await create(
      ama,
      'emergency',
      `incident-${incidentId}/photos/1.jpg`,
      'image/jpeg',
      fakeJpeg(900),
    );
    expect(photo.status).toBe(201);

    // Kofi has used one place of three: thirty SOS uploads later he still has two.
    const kofisIncident = await createIncident(database().db, kofi);
    expect(await recordings(kofi, kofisIncident, 30)).toEqual(Array<number>(30).fill(201));
    expect([(await avatar(kofi, 'k2.jpg')).status, (await avatar(kofi, 'k3.jpg')).status]).toEqual([
      201, 201,
    ]);
    expect((await avatar(kofi, 'k4.jpg')).status).toBe(429);

    // A path naming an incident the server does not have is no SOS evidence: it counts like any other upload.
    const unknown = await create(
      ama,
      'emergency',
      `incident-${newId()}/audio.webm`,
      'audio/webm',
      fakeWebm(1000),
    );
    expect(unknown.status).toBe(429);
  });

  it('[SE6] the count is read back from the store after a restart', async () => {
    const afterRestart = new UnfinishedUploads(
      new FileStore({ directory: path.join(server.dir, 'uploads') }),
      LIMITS,
      () => new Date(server.clock.ms),
    );
    await expect(afterRestart.admit(newId(), ama.userId, false)).rejects.toMatchObject({
      statusCode: 429,
      errorCode: 'too_many_unfinished_uploads',
    });
    await expect(afterRestart.admit(newId(), newId(), false)).resolves.toBeUndefined();
  });

  it('[SE7] the sweep deletes uploads idle past UPLOAD_ABANDONED_HOURS, keeps SOS evidence for 30 days and finished records for their HEAD', async () => {
    const esi = await signUp(server);
    const idle = await avatar(esi, 'idle.jpg');
    const evidence = await create(
      ama,
      'emergency',
      `incident-${incidentId}/audio-late.webm`,
      'audio/webm',
      fakeWebm(1000),
    );
    const finishedFile = fakeJpeg(1500);
    const finished = await create(esi, 'avatars', 'done.jpg', 'image/jpeg', finishedFile);
    expect(await tus(finished.url, 'PATCH', esi, finishedFile)).toMatchObject({ status: 204 });
    const sweeper = new UnfinishedUploads(
      new FileStore({ directory: path.join(server.dir, 'uploads') }),
      LIMITS,
      () => new Date(server.clock.ms),
    );
    const start = server.clock.ms;
    try {
      server.clock.ms = start + 23 * HOUR_MS;
      await sweeper.sweep();
      expect((await tus(idle.url, 'HEAD', esi)).status).toBe(200);

      server.clock.ms = start + 25 * HOUR_MS;
      expect(await sweeper.sweep()).toBeGreaterThan(0);
      expect((await tus(idle.url, 'HEAD', esi)).status).toBe(404);
      expect((await tus(evidence.url, 'HEAD', ama)).status).toBe(200);
      expect(await tus(finished.url, 'HEAD', esi)).toEqual({
        status: 200,
        offset: String(finishedFile.length),
      });
      // Ama's avatar uploads went too: her allowance is free again.
      expect((await avatar(ama, 'after-sweep.jpg')).status).toBe(201);

      server.clock.ms = start + EVIDENCE_KEPT_MS + HOUR_MS;
      await sweeper.sweep();
      expect((await tus(evidence.url, 'HEAD', ama)).status).toBe(404);
      expect((await tus(finished.url, 'HEAD', esi)).status).toBe(404);
    } finally {
      server.clock.ms = start;
    }
  });
});
