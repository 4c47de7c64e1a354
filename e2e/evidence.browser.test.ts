/**
 * Evidence media end to end (issue #6) in real Chromium (fake microphone) against the real server on a fresh
 * Postgres database: a recording made during an open SOS reaches the store with the hash the device computed; a
 * photo whose upload stops part-way resumes after a page reload at the server's offset without sending the
 * accepted bytes again; a recording made offline uploads by itself once the network is back.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import type { BrowserContext, Page, Request, Route } from 'playwright-core';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { FAKE_MEDIA_ARGS } from './harness/chromium.ts';
import { openControlledPage } from './harness/service-worker.ts';
import { readIndexedDb } from './harness/indexed-db.ts';
import { signUpInApp } from './harness/app-account.ts';
import { checkDeclaredType } from '../sync-server/src/storage/media-types.ts';
import {
  EVIDENCE_SIZE_LIMITS,
  EVIDENCE_TYPES,
  RECORDER_MIME_TYPES,
} from '../web/src/media/evidence-types.ts';

const LONDON = { latitude: 51.507351, longitude: -0.127758, accuracy: 20 };
const SIX_MIB = 6 * 1024 * 1024;
const MEDIA_DB = 'vitalwatch-media';
const UPLOAD_PATH = '/storage/v1/upload/resumable';

const e2e = useBrowserSuite({
  database: 'postgres',
  chromiumArgs: FAKE_MEDIA_ARGS,
  contextOptions: { geolocation: LONDON, permissions: ['geolocation', 'microphone'], locale: 'en-GB' },
});

interface DeviceFile {
  id: string;
  incidentId: string;
  kind: string;
  contentType: string;
  size: number;
  sha256: string;
  state: string;
  objectName: string | null;
  uploadUrl: string | null;
  bytesSent: number;
}

interface ServerFile {
  sha256: string;
  size_bytes: number;
  upload_state: string;
  content_type: string;
  object_path: string;
  incident_id: string | null;
  latitude: number | null;
  duration_ms: number | null;
}

/** Opens an SOS at once (Send now) and waits until the server has it; returns the incident id. */
async function openSos(page: Page): Promise<string> {
  await page.goto('/');
  await page.getByRole('button', { name: /SOS/ }).click();
  await page.getByRole('button', { name: 'Send now' }).click();
  await page.getByRole('heading', { name: /SOS [A-Z0-9]{4} is open/ }).waitFor();
  await page.getByText('✓ Received by the server').waitFor({ timeout: 20_000 });
  const [incident] = await readIndexedDb<{ id: string }>(page, 'emergency_incidents');
  if (incident === undefined) throw new Error('no incident on the device');
  return incident.id;
}

async function deviceFiles(page: Page): Promise<DeviceFile[]> {
  return readIndexedDb<DeviceFile>(page, 'files', MEDIA_DB);
}

async function serverFile(id: string): Promise<ServerFile | undefined> {
  const rows = await e2e.server.queryPostgres<ServerFile & Record<string, unknown>>(
    `select sha256, size_bytes::int as size_bytes, upload_state, content_type, object_path, incident_id,
            latitude, duration_ms from media_files where id = $1`,
    [id],
  );
  return rows[0];
}

function statuses(page: Page): Promise<string[]> {
  return page.getByTestId('evidence-file').locator('.evidence-status').allInnerTexts();
}

async function record(page: Page, ms: number): Promise<void> {
  await page.getByRole('button', { name: 'Record audio' }).click();
  const stop = page.getByRole('button', { name: 'Stop recording' });
  await stop.waitFor();
  await page.waitForTimeout(ms);
  await stop.click();
  await page.getByTestId('evidence-file').first().waitFor();
}

/** A photo the server takes: JPEG magic number, then random bytes. */
function fakeJpeg(size: number): Buffer {
  const bytes = randomBytes(size);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(bytes, 0);
  return bytes;
}

it('every type the device may declare is one the server stores in the emergency bucket, with the same limit', () => {
  for (const type of EVIDENCE_TYPES) {
    const check = checkDeclaredType('emergency', type.essence);
    expect(check, type.essence).toMatchObject({ ok: true, limit: EVIDENCE_SIZE_LIMITS[type.kind] });
  }
  for (const mime of RECORDER_MIME_TYPES) {
    expect(checkDeclaredType('emergency', mime), mime).toMatchObject({ ok: true, kind: 'audio' });
  }
});

it('a recording made during an open SOS reaches the store, with the hash the device computed', async () => {
  const page = await openControlledPage(e2e.context);
  await signUpInApp(page, `evidence-audio-${Date.now()}@example.org`);
  const incidentId = await openSos(page);

  await record(page, 3_000);
  await expect.poll(() => statuses(page), { timeout: 30_000 }).toEqual(['Uploaded ✓']);

  const [file] = await deviceFiles(page);
  if (file === undefined) throw new Error('no file on the device');
  expect(file).toMatchObject({ incidentId, kind: 'audio', state: 'uploaded', uploadUrl: null });
  expect(file.contentType).toMatch(/^audio\/webm/);
  expect(file.size).toBeGreaterThan(1_000);
  const stored = await serverFile(file.id);
  expect(stored).toMatchObject({
    sha256: file.sha256,
    size_bytes: file.size,
    upload_state: 'verified',
    // The bare media type: the recorder's "audio/webm;codecs=opus" is stored as "audio/webm" (SE1).
    content_type: file.contentType.split(';')[0],
    object_path: file.objectName,
    incident_id: incidentId,
    latitude: LONDON.latitude,
  });
  expect(stored?.object_path).toMatch(
    new RegExp(`^user-[0-9a-f-]{36}/incident-${incidentId}/audio-${file.id}\\.webm$`),
  );
  expect(stored?.duration_ms).toBeGreaterThanOrEqual(2_500);

  // "I'm safe" during a recording ends it (the panel and its Stop button leave the screen); the file is kept and sent.
  await page.getByRole('button', { name: 'Record audio' }).click();
  await page.getByRole('button', { name: 'Stop recording' }).waitFor();
  await page.waitForTimeout(1_500);
  await page.getByRole('button', { name: "I'm safe" }).click();
  await page.getByRole('heading', { name: 'You marked yourself safe' }).waitFor();
  await expect
    .poll(async () => (await deviceFiles(page)).map((f) => f.state), { timeout: 30_000 })
    .toEqual(['uploaded', 'uploaded']);
});

/**
 * Counts the bytes of every PATCH that reaches the server, and can hold PATCHes from a given offset on (the
 * link stops part-way: the request is never answered, and never forwarded).
 */
async function watchPatches(context: BrowserContext) {
  const forwarded: Array<{ offset: number; bytes: number }> = [];
  const held: Route[] = [];
  let holdFrom: number | null = null;
  const handler = async (route: Route, request: Request) => {
    if (request.method() !== 'PATCH') {
      await route.fallback();
      return;
    }
    const offset = Number(request.headers()['upload-offset']);
    if (holdFrom !== null && offset >= holdFrom) {
      held.push(route);
      return;
    }
    forwarded.push({ offset, bytes: request.postDataBuffer()?.length ?? -1 });
    await route.fallback();
  };
  await context.route(`**${UPLOAD_PATH}/**`, handler);
  return {
    forwarded,
    held,
    hold(from: number | null) {
      holdFrom = from;
    },
    /** Held requests are dropped, never sent: their page is gone. */
    async dropHeld() {
      for (const route of held.splice(0)) await route.abort('connectionreset').catch(() => undefined);
    },
  };
}

it('an upload that stops part-way resumes after a reload at the server offset, without resending accepted bytes', async () => {
  const { context } = e2e;
  const offsetsSeenByHead: number[] = [];
  context.on('response', (response) => {
    const request = response.request();
    if (request.method() === 'HEAD' && request.url().includes(`${UPLOAD_PATH}/`)) {
      offsetsSeenByHead.push(Number(response.headers()['upload-offset']));
    }
  });
  const patches = await watchPatches(context);
  const page = await openControlledPage(context);
  await signUpInApp(page, `evidence-resume-${Date.now()}@example.org`);
  const incidentId = await openSos(page);

  // The first 6 MiB chunk goes through; the second is held: the link dies with the upload part-way.
  patches.hold(SIX_MIB);
  const photo = fakeJpeg(9_000_000);
  const [chooser] = await Promise.all([
    page.waitForEvent('filechooser'),
    page.getByRole('button', { name: 'Take a photo' }).click(),
  ]);
  await chooser.setFiles({ name: 'evidence.jpg', mimeType: 'image/jpeg', buffer: photo });
  await expect.poll(() => patches.held.length, { timeout: 60_000 }).toBeGreaterThan(0);
  expect(patches.forwarded).toEqual([{ offset: 0, bytes: SIX_MIB }]);
  const [partway] = await deviceFiles(page);
  expect(partway).toMatchObject({
    kind: 'photo',
    contentType: 'image/jpeg',
    size: photo.length,
    state: 'uploading',
  });
  expect(partway?.uploadUrl).toMatch(new RegExp(`${UPLOAD_PATH}/`));
  expect(await statuses(page)).toEqual([expect.stringMatching(/^Uploading \d+ %$/) as unknown]);

  // A reload (or a crash): the held request dies with the page; the new page resumes from the stored URL.
  patches.hold(null);
  await page.reload();
  await patches.dropHeld();
  await expect.poll(() => statuses(page), { timeout: 60_000 }).toEqual(['Uploaded ✓']);

  expect(offsetsSeenByHead).toContain(SIX_MIB);
  expect(patches.forwarded).toEqual([
    { offset: 0, bytes: SIX_MIB },
    { offset: SIX_MIB, bytes: photo.length - SIX_MIB },
  ]);
  const sent = patches.forwarded.reduce((sum, patch) => sum + patch.bytes, 0);
  e2e.log(`photo of ${photo.length} bytes: ${sent} sent (ratio ${(sent / photo.length).toFixed(4)})`);
  expect(sent / photo.length).toBeLessThanOrEqual(1.1);

  const [file] = await deviceFiles(page);
  expect(file?.uploadUrl).toBeNull();
  const stored = await serverFile(file?.id ?? '');
  expect(stored).toMatchObject({
    sha256: file?.sha256,
    size_bytes: photo.length,
    upload_state: 'verified',
    content_type: 'image/jpeg',
    incident_id: incidentId,
  });
  expect(stored?.object_path).toMatch(
    new RegExp(`/incident-${incidentId}/photos/photo-${file?.id ?? ''}\\.jpg$`),
  );
});

it('an SOS and a recording made offline reach the server by themselves when the network returns, linked', async () => {
  const { context } = e2e;
  const page = await openControlledPage(context);
  await signUpInApp(page, `evidence-offline-${Date.now()}@example.org`);
  await page.goto('/');

  await context.setOffline(true);
  await page.getByRole('button', { name: /SOS/ }).click();
  await page.getByRole('button', { name: 'Send now' }).click();
  await page.getByRole('heading', { name: /SOS [A-Z0-9]{4} is open/ }).waitFor();
  const [incident] = await readIndexedDb<{ id: string }>(page, 'emergency_incidents');
  await record(page, 2_000);
  await expect.poll(() => statuses(page)).toEqual(['Waiting for network']);
  const [file] = await deviceFiles(page);
  if (file === undefined || incident === undefined) throw new Error('nothing on the device');
  expect(file).toMatchObject({ state: 'waiting', incidentId: incident.id });
  expect(await serverFile(file.id)).toBeUndefined();

  // No tap: the sync loop pushes the incident, and the upload queue (which waits for it) sends the recording.
  await context.setOffline(false);
  await expect.poll(() => statuses(page), { timeout: 30_000 }).toEqual(['Uploaded ✓']);
  expect(await serverFile(file.id)).toMatchObject({
    sha256: file.sha256,
    upload_state: 'verified',
    incident_id: incident.id,
  });
});

/**
 * Sets the user's synced `autoRecordAudioSeconds` on the server, as another device's settings change would (the
 * settings screen offers 30 s and more; 2 s keeps the test short), and waits until this device has pulled it.
 */
async function setAutoRecordSeconds(page: Page, seconds: number): Promise<void> {
  const [meta] = await readIndexedDb<{ key: string; value: { userId: string } }>(page, 'meta').then((rows) =>
    rows.filter((row) => row.key === 'session'),
  );
  const userId = meta?.value.userId;
  if (userId === undefined) throw new Error('not signed in');
  await e2e.server.queryPostgres(
    `with v as (
       insert into user_versions (user_id, version) values ($1, 1)
       on conflict (user_id) do update set version = user_versions.version + 1
       returning version)
     update user_settings set auto_record_audio_seconds = $2, version = (select version from v), updated_at = now()
     where user_id = $1`,
    [userId, seconds],
  );
  await page.goto('/');
  await expect
    .poll(
      async () =>
        (await readIndexedDb<{ autoRecordAudioSeconds: number }>(page, 'user_settings'))[0]
          ?.autoRecordAudioSeconds,
      { timeout: 20_000 },
    )
    .toBe(seconds);
}

it('with auto-recording set, a new SOS records by itself for that long, once per incident', async () => {
  const page = await openControlledPage(e2e.context);
  await signUpInApp(page, `evidence-auto-${Date.now()}@example.org`);
  await setAutoRecordSeconds(page, 2);
  await openSos(page);

  // Nobody pressed "Record audio".
  await expect.poll(() => statuses(page), { timeout: 30_000 }).toEqual(['Uploaded ✓']);
  const [file] = await deviceFiles(page);
  const stored = await serverFile(file?.id ?? '');
  expect(stored?.sha256).toBe(file?.sha256);
  expect(stored?.duration_ms).toBeGreaterThanOrEqual(1_500);
  expect(stored?.duration_ms).toBeLessThan(5_000);

  // A reload shows the same incident: no second recording.
  await page.reload();
  await page.getByRole('button', { name: 'Record audio' }).waitFor();
  await page.waitForTimeout(1_000);
  expect(await deviceFiles(page)).toHaveLength(1);
});

it('the settings screen saves automatic recording and sharing with contacts to the account', async () => {
  const page = await openControlledPage(e2e.context);
  const email = `evidence-settings-${Date.now()}@example.org`;
  await signUpInApp(page, email);
  await page.goto('/#/settings');
  await page.getByLabel('Record audio automatically after an SOS').selectOption({ label: '1 minute' });
  await page
    .getByLabel('Let the contacts I alert open my recordings and photos from their alert link')
    .check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved on this phone').waitFor();

  await expect
    .poll(
      async () =>
        e2e.server.queryPostgres<{ seconds: number; share: boolean }>(
          `select s.auto_record_audio_seconds as seconds, s.share_media_with_contacts as share
             from user_settings s join users u on u.id = s.user_id where u.email = $1`,
          [email],
        ),
      { timeout: 20_000 },
    )
    .toEqual([{ seconds: 60, share: true }]);
});
