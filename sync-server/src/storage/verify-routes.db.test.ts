import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mediaFiles } from '@vitalwatch/schema/db/tables';
import { newId } from '@vitalwatch/schema/ids';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import {
  act,
  addContact,
  newDevice,
  startAlertServer,
  textsTo,
  triggerSos,
  type AlertServer,
  type Device,
} from '../../test/alerts-test-kit.ts';
import { supabaseStorage } from './supabase-storage.ts';
import {
  fakeJpeg,
  fakeWebm,
  runUpload,
  sha256Hex,
  signUp,
  startStorageServer,
  type StorageServer,
} from '../../test/storage-test-kit.ts';
import { startFakeSupabaseStorage, type FakeSupabaseStorage } from '../../test/fake-supabase-storage.ts';
import { VERIFY_PATH } from './verify-routes.ts';

const MUM = '+447911123456';

// Devices upload straight to Supabase Storage (here a local fake speaking its object API); the server reads each
// object back with the service key, checks it and records it, and signs contacts' links there.
describeOnEachDatabase(
  'uploads to Supabase Storage, verified by the server (POST /storage/v1/verify)',
  (database) => {
    let supabase: FakeSupabaseStorage;
    let server: AlertServer;
    let ama: Device;
    let kofi: Device;

    beforeAll(async () => {
      supabase = await startFakeSupabaseStorage();
      server = await startAlertServer(database(), {
        storage: true,
        supabaseStorage: supabaseStorage({ url: supabase.url, serviceKey: supabase.serviceKey }),
      });
      ama = await newDevice(server, 'Ama');
      kofi = await newDevice(server, 'Kofi');
    });
    afterAll(async () => {
      await server.close();
      await supabase.close();
    });

    /** Puts a file in Supabase as the device's tus upload would, and returns the metadata the device sends. */
    function uploaded(owner: Device, bytes: Buffer, contentType = 'audio/webm', folder = 'notes') {
      const objectName = `user-${owner.userId}/${folder}/audio-${newId()}.webm`;
      supabase.put('emergency', objectName, bytes, contentType);
      return {
        bucketName: 'emergency',
        objectName,
        contentType,
        sha256: sha256Hex(bytes),
        mediaId: newId(),
        capturedAt: new Date(server.clock.ms).toISOString(),
        durationMs: '83000',
        latitude: 5.6037,
      };
    }

    const verify = (device: Device | null, payload: Record<string, unknown>) =>
      server.app.inject({
        method: 'POST',
        url: VERIFY_PATH,
        headers: device === null ? {} : { authorization: `Bearer ${device.token}` },
        payload,
      });

    it('records media_files with the hash of the bytes in Supabase, and answers the same again', async () => {
      const file = fakeWebm(200_000);
      const meta = uploaded(ama, file);
      const first = await verify(ama, meta);
      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({
        id: meta.mediaId,
        bucket: 'emergency',
        objectName: meta.objectName,
        sha256: sha256Hex(file),
        sizeBytes: file.length,
      });
      const [row] = await database().db.select().from(mediaFiles).where(eq(mediaFiles.id, meta.mediaId));
      expect(row).toMatchObject({
        userId: ama.userId,
        bucket: 'emergency',
        objectPath: meta.objectName,
        contentType: 'audio/webm',
        sizeBytes: file.length,
        sha256: sha256Hex(file),
        uploadState: 'verified',
        durationMs: 83000,
        latitude: 5.6037,
      });
      expect(supabase.requests).toContain(`GET /storage/v1/object/emergency/${meta.objectName}`);

      // Idempotent: a device whose answer was lost asks again and gets the same answer, without a second read.
      const reads = supabase.requests.length;
      const again = await verify(ama, meta);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual(first.json());
      expect(supabase.requests.length).toBe(reads);
      expect(supabase.objects.has(`emergency/${meta.objectName}`)).toBe(true);
    });

    it('refuses a wrong hash with 422 hash_mismatch and deletes the object at Supabase', async () => {
      const meta = { ...uploaded(ama, fakeWebm(50_000)), sha256: sha256Hex(fakeWebm(10)) };
      const response = await verify(ama, meta);
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ error_code: 'hash_mismatch' });
      expect(supabase.objects.has(`emergency/${meta.objectName}`)).toBe(false);
      expect(await database().db.select().from(mediaFiles).where(eq(mediaFiles.id, meta.mediaId))).toEqual(
        [],
      );
    });

    it('refuses bytes that are not the declared type with 422 content_mismatch and deletes them', async () => {
      const meta = uploaded(ama, fakeJpeg(20_000), 'audio/webm');
      const response = await verify(ama, meta);
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ error_code: 'content_mismatch' });
      expect(supabase.objects.has(`emergency/${meta.objectName}`)).toBe(false);
    });

    it('answers 404 for an object that is not in Supabase', async () => {
      const meta = uploaded(ama, fakeWebm(1_000));
      supabase.objects.delete(`emergency/${meta.objectName}`);
      const response = await verify(ama, meta);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ error_code: 'not_found' });
    });

    it("refuses another user's path (403) and leaves their object alone", async () => {
      const meta = uploaded(kofi, fakeWebm(1_000));
      const response = await verify(ama, meta);
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ error_code: 'not_your_folder' });
      expect(supabase.objects.has(`emergency/${meta.objectName}`)).toBe(true);
    });

    it('refuses an unauthenticated request (401) and bad metadata (400, naming the field)', async () => {
      const meta = uploaded(ama, fakeWebm(1_000));
      const anonymous = await verify(null, meta);
      expect(anonymous.statusCode).toBe(401);
      const bad = await verify(ama, { ...meta, sha256: 'abc' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json<{ message: string }>().message).toContain('sha256');
      const notAllowed = await verify(ama, { ...meta, contentType: 'application/pdf' });
      expect(notAllowed.statusCode).toBe(415);
    });

    it("[AL9] the contact's page links to Supabase's signed URL for the incident's verified recording", async () => {
      await addContact(server, ama, { name: 'Mum', phone: MUM, tier: 1 });
      await act(server, ama, 'user', 'settings.update@1', { fields: { shareMediaWithContacts: true } });
      const incidentId = await triggerSos(server, ama, { code: 'SB11' });
      await server.tick();
      const meta = uploaded(ama, fakeWebm(40_000), 'audio/webm', `incident-${incidentId}`);
      expect((await verify(ama, meta)).statusCode).toBe(200);

      const link = /(\/a\/[\w-]{16})$/.exec(textsTo(server.twilio, MUM).at(-1)!.body)![1]!;
      const page = await server.app.inject({ method: 'GET', url: link });
      expect(page.statusCode).toBe(200);
      const hrefs = [...page.body.matchAll(/href="([^"]*\/object\/sign\/[^"]+)"/g)].map((m) => m[1]!);
      expect(hrefs).toHaveLength(1);
      expect(hrefs[0]).toMatch(
        new RegExp(`^${supabase.url}/storage/v1/object/sign/emergency/${meta.objectName}\\?token=fake\\.`),
      );
      expect(supabase.requests).toContain(`POST /storage/v1/object/sign/emergency/${meta.objectName}`);
    });
  },
);

// The embedded store checks files as they arrive; verify only reports, so a device that guessed the wrong store
// costs one request, never an upload.
describeOnEachDatabase('POST /storage/v1/verify without Supabase Storage', (database) => {
  let server: StorageServer;
  beforeAll(async () => {
    server = await startStorageServer(database());
  });
  afterAll(() => server.close());

  it('answers 200 for a recorded file with its hash, 422 for another hash, 404 for none', async () => {
    const ama = await signUp(server);
    const file = fakeWebm(30_000);
    const objectName = `user-${ama.userId}/notes/audio.webm`;
    await runUpload({
      baseUrl: server.url,
      token: ama.token,
      file,
      bucket: 'emergency',
      objectName,
      contentType: 'audio/webm',
    });
    const meta = { bucketName: 'emergency', objectName, contentType: 'audio/webm', sha256: sha256Hex(file) };
    const post = (payload: Record<string, unknown>) =>
      fetch(`${server.url}${VERIFY_PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ama.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
    const ok = await post(meta);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ objectName, sha256: sha256Hex(file), sizeBytes: file.length });
    const other = await post({ ...meta, sha256: sha256Hex(fakeWebm(10)) });
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ error_code: 'hash_mismatch' });
    const none = await post({ ...meta, objectName: `user-${ama.userId}/notes/other.webm` });
    expect(none.status).toBe(404);
  });
});
