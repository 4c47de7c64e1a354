import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import Fastify from 'fastify';
import { SignJWT, generateKeyPair } from 'jose';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mediaFiles } from '@vitalwatch/schema/db/tables';
import { newId, type IncidentId } from '@vitalwatch/schema/ids';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { embeddedIdentity, type Identity } from '../auth/identity.ts';
import { PokeHub } from '../sync/poke-hub.ts';
import type { Db } from '../db/database.ts';
import { SIZE_LIMITS } from './media-types.ts';
import { objectFile, registerUploadRoutes, UPLOAD_PATH } from './upload-routes.ts';
import { startDroppingProxy } from '../../test/dropping-proxy.ts';
import {
  fakeJpeg,
  fakeWebm,
  createIncident,
  MemoryUrlStorage,
  refused,
  runUpload,
  sha256Hex,
  signUp,
  SIX_MIB,
  startStorageServer,
  type Account,
  type StorageServer,
  type UploadRequest,
} from '../../test/storage-test-kit.ts';

async function rowAt(db: Db, objectPath: string) {
  const rows = await db.select().from(mediaFiles).where(eq(mediaFiles.objectPath, objectPath));
  return rows;
}

/** An identity whose next check, once `holdNext()` is called, waits until the test lets it go. */
function holdableIdentity(identity: Identity) {
  let held: { entered: () => void; gate: Promise<void> } | null = null;
  return {
    identity: {
      kind: identity.kind,
      async verify(token: string) {
        const hold = held;
        held = null;
        if (hold !== null) {
          hold.entered();
          await hold.gate;
        }
        return identity.verify(token);
      },
    } satisfies Identity,
    /** Holds the next check; resolves `entered` once a request is waiting in it. */
    holdNext() {
      let entered = () => {};
      let letGo = () => {};
      const gate = new Promise<void>((resolve) => (letGo = resolve));
      const waiting = new Promise<void>((resolve) => (entered = resolve));
      held = { entered, gate };
      return { waiting, letGo };
    },
  };
}

/** A PATCH whose connection drops after `body` bytes of `declared`: the headers and those bytes, then the end. */
async function droppedPatch(url: URL, token: string, body: Buffer, declared: number): Promise<void> {
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.on('error', () => {});
  const head = [
    `PATCH ${url.pathname} HTTP/1.1`,
    `host: ${url.host}`,
    `authorization: Bearer ${token}`,
    'tus-resumable: 1.0.0',
    'upload-offset: 0',
    'content-type: application/offset+octet-stream',
    `content-length: ${declared}`,
  ];
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  await new Promise<void>((resolve) => socket.end(body, resolve));
}

/**
 * A raw tus request, for what tus-js-client would not send: another user's token on someone's upload URL, or a
 * HEAD on its own.
 */
async function tusRequest(url: string, method: string, token: string) {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' },
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describeOnEachDatabase('resumable evidence uploads (tus-js-client)', (database) => {
  let server: StorageServer;
  let ama: Account;
  let kofi: Account;
  let incidentId: IncidentId;
  let base: (over: Partial<UploadRequest> & Pick<UploadRequest, 'file' | 'objectName'>) => UploadRequest;

  beforeAll(async () => {
    server = await startStorageServer(database());
    ama = await signUp(server);
    kofi = await signUp(server);
    incidentId = await createIncident(database().db, ama);
    base = (over) => ({
      baseUrl: server.url,
      token: ama.token,
      bucket: 'emergency',
      contentType: 'audio/webm;codecs=opus',
      ...over,
    });
  });
  afterAll(() => server.close());

  it('[SE1] uploads a recording in 6 MiB chunks; the server hash equals the device hash and media_files records it with the bare media type', async () => {
    const file = fakeWebm(2 * SIX_MIB + 12_345);
    const objectName = `user-${ama.userId}/incident-${incidentId}/audio.webm`;
    const chunks: number[] = [];
    await runUpload(
      base({
        file,
        objectName,
        fingerprint: 'media-0193-audio',
        metadata: { capturedAt: '2026-01-05T10:00:00.000Z', latitude: '-1.2921', longitude: '36.8219' },
        onChunkComplete: (_upload, size) => chunks.push(size),
      }),
    );
    expect(chunks).toEqual([SIX_MIB, SIX_MIB, 12_345]);

    const [row] = await rowAt(database().db, objectName);
    expect(row).toMatchObject({
      userId: ama.userId,
      incidentId,
      bucket: 'emergency',
      // Sent as "audio/webm;codecs=opus": the parameters are dropped.
      contentType: 'audio/webm',
      sizeBytes: file.length,
      sha256: sha256Hex(file),
      uploadState: 'verified',
      bytesReceived: file.length,
      latitude: -1.2921,
      longitude: 36.8219,
    });
    expect(row?.capturedAt?.toISOString()).toBe('2026-01-05T10:00:00.000Z');
    expect(row?.verifiedAt).toBeInstanceOf(Date);
    expect(row?.version).toBeGreaterThan(0);
    const stored = await fs.readFile(objectFile(server.dir, { bucket: 'emergency', path: objectName }));
    expect(sha256Hex(stored)).toBe(sha256Hex(file));
  });

  it('resumes after an abort without resending the accepted bytes', async () => {
    const file = fakeWebm(2 * SIX_MIB + 1000);
    const objectName = `user-${ama.userId}/incident-${incidentId}/resumed.webm`;
    const urlStorage = new MemoryUrlStorage();
    const request = base({ file, objectName, fingerprint: 'media-resume-1', urlStorage, retryDelays: null });

    // First attempt: stop as soon as the first chunk is acknowledged (a reload, a crash, the network gone).
    let uploadUrl = '';
    await new Promise<void>((resolve, reject) => {
      runUpload({
        ...request,
        onChunkComplete: (upload) => {
          uploadUrl = upload.url ?? '';
          void upload.abort().then(resolve);
        },
      }).catch(reject);
    });
    const head = await fetch(uploadUrl, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${ama.token}`, 'tus-resumable': '1.0.0' },
    });
    expect(head.headers.get('upload-offset')).toBe(String(SIX_MIB));
    expect(await rowAt(database().db, objectName)).toEqual([]);

    // Second attempt, same fingerprint: it finds the stored URL and sends only what the server lacks.
    const sent: number[] = [];
    const resumedUrl = await runUpload({ ...request, onChunkComplete: (_u, size) => sent.push(size) });
    expect(resumedUrl).toBe(uploadUrl);
    expect(sent).toEqual([SIX_MIB, 1000]);
    expect(sent.reduce((a, b) => a + b, 0)).toBe(file.length - SIX_MIB);
    const [row] = await rowAt(database().db, objectName);
    expect(row?.sha256).toBe(sha256Hex(file));

    // The finished upload still answers HEAD with its full length: a device whose last answer was lost learns
    // that it is done instead of starting over.
    const done = await fetch(uploadUrl, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${ama.token}`, 'tus-resumable': '1.0.0' },
    });
    expect(done.headers.get('upload-offset')).toBe(String(file.length));
  });

  it("refuses another user's token on an upload URL (HEAD, PATCH, DELETE)", async () => {
    const file = fakeWebm(SIX_MIB + 10);
    let uploadUrl = '';
    await new Promise<void>((resolve, reject) => {
      runUpload({
        ...base({ file, objectName: `user-${ama.userId}/incident-${incidentId}/private.webm` }),
        onChunkComplete: (upload) => {
          uploadUrl = upload.url ?? '';
          void upload.abort().then(resolve);
        },
      }).catch(reject);
    });
    for (const method of ['HEAD', 'DELETE']) {
      expect((await tusRequest(uploadUrl, method, kofi.token)).status).toBe(403);
    }
    const patch = await fetch(uploadUrl, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${kofi.token}`,
        'tus-resumable': '1.0.0',
        'upload-offset': String(SIX_MIB),
        'content-type': 'application/offset+octet-stream',
      },
      body: file.subarray(SIX_MIB),
    });
    expect(patch.status).toBe(403);
    expect(await patch.json()).toMatchObject({ error_code: 'not_your_folder' });
    // Still there for its owner.
    expect((await tusRequest(uploadUrl, 'HEAD', ama.token)).status).toBe(200);
  });

  it('refuses a forged token and a missing one', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ role: 'authenticated', session_id: newId() })
      .setProtectedHeader({ alg: 'ES256', kid: server.key.kid })
      .setSubject(ama.userId)
      .setAudience('authenticated')
      .setIssuer(server.issuer)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    const file = fakeWebm(1000);
    const objectName = `user-${ama.userId}/forged.webm`;
    const forgedRefusal = await refused(runUpload(base({ file, objectName, token: forged })));
    expect(forgedRefusal).toMatchObject({ status: 401, body: { error_code: 'bad_jwt' } });

    const anonymous = await fetch(`${server.url}${UPLOAD_PATH}`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' },
    });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error_code: 'no_authorization' });
    expect(await rowAt(database().db, objectName)).toEqual([]);
  });

  it("refuses a path under someone else's user id, and system buckets", async () => {
    const file = fakeWebm(1000);
    const theirs = await refused(
      runUpload(base({ file, objectName: `user-${kofi.userId}/incident-${incidentId}/audio.webm` })),
    );
    expect(theirs.status).toBe(403);
    expect(theirs.body).toMatchObject({ error_code: 'not_your_folder' });
    expect(String(theirs.body.message)).toContain(`user-${ama.userId}/`);

    const notAFolder = await refused(runUpload(base({ file, objectName: 'audio.webm' })));
    expect(notAFolder).toMatchObject({ status: 400, body: { error_code: 'invalid_object_name' } });
    const escape = await refused(runUpload(base({ file, objectName: `user-${ama.userId}/../x.webm` })));
    expect(escape).toMatchObject({ status: 400, body: { error_code: 'invalid_object_name' } });
    const system = await refused(
      runUpload(
        base({
          file: fakeJpeg(100),
          bucket: 'assets',
          contentType: 'image/jpeg',
          objectName: 'app-icons/x.jpg',
        }),
      ),
    );
    expect(system).toMatchObject({ status: 403, body: { error_code: 'system_bucket' } });
  });

  it('refuses bytes that are not the declared type at the first chunk, and deletes the upload', async () => {
    const html = Buffer.concat([Buffer.from('<html><script>alert(1)</script>'), fakeWebm(SIX_MIB + 100)]);
    let uploadUrl = '';
    const mismatch = await refused(
      runUpload({
        ...base({ file: html, objectName: `user-${ama.userId}/incident-${incidentId}/evil.webm` }),
        onUrl: (url) => (uploadUrl = url),
      }),
    );
    expect(mismatch.status).toBe(415);
    expect(mismatch.body).toMatchObject({ error_code: 'content_mismatch' });
    expect(String(mismatch.body.message)).toContain('audio/webm');
    expect((await tusRequest(uploadUrl, 'HEAD', ama.token)).status).toBe(404);

    const wrongBucket = await refused(
      runUpload(
        base({
          file: Buffer.from('%PDF-1.7 hello'),
          contentType: 'application/pdf',
          objectName: `user-${ama.userId}/a.pdf`,
        }),
      ),
    );
    expect(wrongBucket).toMatchObject({ status: 415, body: { error_code: 'content_type_not_allowed' } });
  });

  it('checks a header that arrives split across requests', async () => {
    const metadata = (objectName: string, file: Buffer) =>
      Object.entries({
        bucketName: 'emergency',
        objectName,
        contentType: 'audio/webm',
        sha256: sha256Hex(file),
      })
        .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
        .join(',');
    const send = async (objectName: string, file: Buffer, parts: number[]) => {
      const created = await fetch(`${server.url}${UPLOAD_PATH}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ama.token}`,
          'tus-resumable': '1.0.0',
          'upload-length': String(file.length),
          'upload-metadata': metadata(objectName, file),
        },
      });
      expect(created.status).toBe(201);
      const url = new URL(created.headers.get('location') ?? '', server.url).toString();
      const statuses: number[] = [];
      let offset = 0;
      for (const end of [...parts, file.length]) {
        const patch = await fetch(url, {
          method: 'PATCH',
          headers: {
            authorization: `Bearer ${ama.token}`,
            'tus-resumable': '1.0.0',
            'upload-offset': String(offset),
            'content-type': 'application/offset+octet-stream',
          },
          body: file.subarray(offset, end),
        });
        statuses.push(patch.status);
        if (patch.status !== 204) break;
        offset = end;
      }
      return statuses;
    };
    const good = fakeWebm(1000);
    expect(await send(`user-${ama.userId}/split-good.webm`, good, [2, 9])).toEqual([204, 204, 204]);
    const bad = Buffer.concat([good.subarray(0, 3), Buffer.from('not webm at all'), good.subarray(18)]);
    // The first 16 bytes are complete only in the third request: that is where the refusal comes.
    expect(await send(`user-${ama.userId}/split-bad.webm`, bad, [2, 9])).toEqual([204, 204, 415]);
  });

  it('refuses an oversized file before any byte of it is sent', async () => {
    const photo = fakeJpeg(SIZE_LIMITS.image + 1);
    let progressed = 0;
    const tooBig = await refused(
      runUpload({
        ...base({
          file: photo,
          contentType: 'image/jpeg',
          objectName: `user-${ama.userId}/incident-${incidentId}/photos/1.jpg`,
        }),
        onProgress: (_upload, sent) => (progressed = sent),
      }),
    );
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toMatchObject({ error_code: 'file_too_large' });
    expect(String(tooBig.body.message)).toContain(String(SIZE_LIMITS.image));
    expect(progressed).toBe(0);
  });

  it('refuses (and deletes) a file whose hash differs from the one the device declared', async () => {
    const file = fakeWebm(5000);
    const objectName = `user-${ama.userId}/incident-${incidentId}/tampered.webm`;
    let uploadUrl = '';
    const mismatch = await refused(
      runUpload({
        ...base({ file, objectName, sha256: sha256Hex(Buffer.from('something else')) }),
        onUrl: (url) => (uploadUrl = url),
      }),
    );
    expect(mismatch.status).toBe(422);
    expect(mismatch.body).toMatchObject({ error_code: 'hash_mismatch' });
    expect(String(mismatch.body.message)).toContain(sha256Hex(file));
    expect(await rowAt(database().db, objectName)).toEqual([]);
    expect((await tusRequest(uploadUrl, 'HEAD', ama.token)).status).toBe(404);
  });

  it('answers a second upload to an existing object with 409 unless x-upsert is set', async () => {
    const objectName = `user-${ama.userId}/profile.jpg`;
    const first = fakeJpeg(3000);
    await runUpload(base({ file: first, bucket: 'avatars', contentType: 'image/jpeg', objectName }));
    const second = fakeJpeg(4000);
    const again = await refused(
      runUpload(
        base({
          file: second,
          bucket: 'avatars',
          contentType: 'image/jpeg',
          objectName,
          fingerprint: 'avatar-2',
        }),
      ),
    );
    expect(again).toMatchObject({ status: 409, body: { error_code: 'already_exists' } });
    const [kept] = await rowAt(database().db, objectName);
    expect(kept?.sha256).toBe(sha256Hex(first));

    await runUpload(
      base({
        file: second,
        bucket: 'avatars',
        contentType: 'image/jpeg',
        objectName,
        fingerprint: 'avatar-3',
        upsert: true,
      }),
    );
    const rows = await rowAt(database().db, objectName);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: kept?.id, sha256: sha256Hex(second), sizeBytes: 4000 });
    const stored = await fs.readFile(objectFile(server.dir, { bucket: 'avatars', path: objectName }));
    expect(sha256Hex(stored)).toBe(sha256Hex(second));
  });

  it('completes a 5 MB recording over a link that drops every ~1 MB, sending at most 1.1x the file', async () => {
    const proxy = await startDroppingProxy(new URL(server.url), 1_000_000);
    try {
      const file = fakeWebm(5_000_000);
      const objectName = `user-${ama.userId}/incident-${incidentId}/weak-link.webm`;
      await runUpload({
        ...base({ file, objectName, fingerprint: 'media-weak-link', urlStorage: new MemoryUrlStorage() }),
        baseUrl: proxy.url,
        retryDelays: [0, 100, 250, 500, 1000, 2000],
      });
      const [row] = await rowAt(database().db, objectName);
      expect(row?.sha256).toBe(sha256Hex(file));
      const ratio = proxy.bytesFromClient() / file.length;
      console.log(
        `[storage] 5 MB over a link dropping every 1 MB: ${proxy.drops()} drops, ` +
          `${proxy.bytesFromClient()} bytes sent for ${file.length} (ratio ${ratio.toFixed(4)})`,
      );
      expect(proxy.drops()).toBeGreaterThanOrEqual(4);
      expect(ratio).toBeLessThanOrEqual(1.1);
    } finally {
      await proxy.close();
    }
  });

  it('a resuming HEAD waits for the dropped PATCH before it, even one still checking its token, and reports its bytes', async () => {
    // Under load the dropped PATCH may still be in its token check (a database round trip) when the client's
    // HEAD arrives; answering the HEAD first would report the older offset and the client would resend it all.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-arrival-'));
    const auth = holdableIdentity(embeddedIdentity(database().db, server.key, server.issuer));
    const app = Fastify();
    await registerUploadRoutes(app, {
      db: database().db,
      identity: auth.identity,
      now: () => new Date(server.clock.ms),
      pokes: new PokeHub(),
      dir,
    });
    const origin = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const file = fakeWebm(1_000_000);
      const b64 = (text: string) => Buffer.from(text).toString('base64');
      const objectName = `user-${ama.userId}/incident-${incidentId}/arrival-order.webm`;
      const created = await fetch(`${origin}${UPLOAD_PATH}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ama.token}`,
          'tus-resumable': '1.0.0',
          'upload-length': String(file.length),
          'upload-metadata': [
            `bucketName ${b64('emergency')}`,
            `objectName ${b64(objectName)}`,
            `contentType ${b64('audio/webm')}`,
            `sha256 ${b64(sha256Hex(file))}`,
          ].join(','),
        },
      });
      expect(created.status).toBe(201);
      const uploadUrl = new URL(created.headers.get('location') ?? '', origin);

      const check = auth.holdNext();
      await droppedPatch(uploadUrl, ama.token, file.subarray(0, 300_000), file.length);
      await check.waiting;
      const head = tusRequest(uploadUrl.href, 'HEAD', ama.token);
      const early = await Promise.race([head.then(() => 'answered'), sleep(300).then(() => 'waiting')]);
      check.letGo();
      const answer = await head;
      expect(early).toBe('waiting');
      expect(answer.status).toBe(200);
      const offset = Number(answer.headers.get('upload-offset'));
      // Every byte of the dropped PATCH that the server read is stored and reported; Node may drop the few
      // kilobytes it had buffered but not handed on when the connection closed.
      expect(offset).toBeGreaterThan(200_000);
      const stored = await fs.readFile(path.join(dir, 'uploads', path.basename(uploadUrl.pathname)));
      expect(stored.length).toBe(offset);
      expect(stored.equals(file.subarray(0, offset))).toBe(true);
    } finally {
      await app.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("[SE5] takes an upload made the way Supabase documents it (no sha256): the server's hash is recorded, and a hash that is sent must match", async () => {
    // Supabase's guide: tus-js-client with its four metadata fields (cacheControl a number), x-upsert, data in
    // the creation request, 6 MiB chunks.
    const png = randomBytes(SIX_MIB + 4321);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png, 0);
    const objectName = `user-${ama.userId}/supabase-style.png`;
    await new Promise<void>((resolve, reject) => {
      new tus.Upload(png, {
        endpoint: `${server.url}${UPLOAD_PATH}`,
        retryDelays: [0, 3000, 5000, 10000, 20000],
        headers: { authorization: `Bearer ${ama.token}`, 'x-upsert': 'true' },
        uploadDataDuringCreation: true,
        removeFingerprintOnSuccess: true,
        metadata: {
          bucketName: 'avatars',
          objectName,
          contentType: 'image/png',
          cacheControl: 3600 as unknown as string,
        },
        chunkSize: SIX_MIB,
        onError: reject,
        onSuccess: () => resolve(),
      }).start();
    });
    const [row] = await rowAt(database().db, objectName);
    expect(row).toMatchObject({ contentType: 'image/png', sizeBytes: png.length, sha256: sha256Hex(png) });

    // A device that does send its hash is still held to it.
    const wrong = await refused(
      runUpload(
        base({
          file: fakeJpeg(2000),
          bucket: 'avatars',
          contentType: 'image/jpeg',
          objectName: `user-${ama.userId}/hashed.jpg`,
          sha256: sha256Hex(Buffer.from('another file')),
        }),
      ),
    );
    expect(wrong).toMatchObject({ status: 422, body: { error_code: 'hash_mismatch' } });
  });
});
