/**
 * No script ever runs from a stored file (issue #13 item 1, SPEC SE3): in real Chromium against the real server,
 * an SVG with a script (uploaded as `image/svg+xml;charset=utf-8`, the type string that used to slip past the
 * sandbox) and an XHTML page that passes the SVG check are opened by their signed links. As served they are
 * downloaded, not shown; with the attachment header taken away (a browser that ignored it) they render under the
 * server's CSP and their script still does not run. A control serves the same bytes without our headers and sees
 * the script run, so the probe can tell. A recording opened the same way still plays (the media CSP, SE2). With
 * USER_CONTENT_URL the browser is sent to that origin for the file (SE4).
 *
 * The probe: a script that ran would log a marker, write localStorage on the page's origin and fetch /probe-ran.
 */
import { expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { useBrowserSuite } from './harness/browser-suite.ts';

const e2e = useBrowserSuite({});

const MARKER = 'VW-STORED-FILE-SCRIPT-RAN';
const PROBE = `console.log('${MARKER}'); try { localStorage.setItem('vw-probe', 'ran') } catch (e) {} fetch('/probe-ran').catch(() => {});`;

const SCRIPTED_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">' +
  `<script>${PROBE}</script><rect width="40" height="40" fill="red"/></svg>`;
/** XHTML whose first bytes are `<?xml`, which the SVG check accepts: served as SVG, Chromium runs its script. */
const XHTML_AS_SVG =
  '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p>page</p>' +
  `<script>${PROBE}</script></body></html>`;

type Account = { userId: string; token: string };

/** A new account and its session: sign-up answers no session (SE45), so this signs in next, as the app does. */
async function signUp(): Promise<Account> {
  const credentials = JSON.stringify({
    email: `stored-${Date.now()}@example.org`,
    password: 'a long enough passphrase',
  });
  const post = (path: string) =>
    fetch(`${e2e.server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: credentials,
    });
  const signedUp = await post('/auth/v1/signup');
  if (!signedUp.ok) throw new Error(`sign-up: HTTP ${signedUp.status}`);
  const response = await post('/auth/v1/token?grant_type=password');
  if (!response.ok) throw new Error(`sign-in: HTTP ${response.status}`);
  const body = (await response.json()) as { access_token: string; user: { id: string } };
  return { userId: body.user.id, token: body.access_token };
}

/** One tus request with the whole file in it (creation-with-upload); returns the answer's status (201: stored). */
async function upload(
  account: Account,
  bucket: string,
  objectName: string,
  contentType: string,
  file: Buffer,
) {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const response = await fetch(`${e2e.server.url}/storage/v1/upload/resumable`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${account.token}`,
      'tus-resumable': '1.0.0',
      'upload-length': String(file.length),
      'upload-metadata': `bucketName ${b64(bucket)},objectName ${b64(objectName)},contentType ${b64(contentType)}`,
      'content-type': 'application/offset+octet-stream',
    },
    body: new Uint8Array(file),
  });
  await response.arrayBuffer();
  return response.status;
}

async function signedLink(account: Account, bucket: string, objectName: string): Promise<string> {
  const response = await fetch(`${e2e.server.url}/storage/v1/object/sign/${bucket}/${objectName}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${account.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ expiresIn: 600 }),
  });
  const { signedURL } = (await response.json()) as { signedURL: string };
  return `${e2e.server.url}/storage/v1${signedURL}`;
}

/** Everything that would show the script ran: console markers, fetches of /probe-ran, localStorage there. */
function watchProbe(context: BrowserContext) {
  const seen: string[] = [];
  const console: string[] = [];
  context.on('page', (page) =>
    page.on('console', (message) => {
      console.push(message.text());
      if (message.text().includes(MARKER)) seen.push(`console on ${page.url()}`);
    }),
  );
  context.on('request', (request) => {
    if (request.url().includes('/probe-ran')) seen.push(`fetch ${request.url()}`);
  });
  return { seen, console };
}

async function probeStorage(page: Page, origin: string): Promise<string | null> {
  await page.goto(`${origin}/config.json`);
  return page.evaluate(() => localStorage.getItem('vw-probe'));
}

/** Opens `link` as a person would (a tap on it); returns the download it became, or null if it was shown. */
async function open(page: Page, link: string) {
  const download = page.waitForEvent('download', { timeout: 10_000 }).catch(() => null);
  const shown = await page.goto(link).then(
    (response) => response,
    () => null,
  );
  const downloaded = shown === null ? await download : null;
  await page.waitForTimeout(500);
  return downloaded;
}

/** Serves `link` with the server's answer, minus the headers named. */
async function withoutHeaders(context: BrowserContext, link: string, drop: readonly string[]) {
  await context.route(link, async (route) => {
    const response = await route.fetch();
    const headers = Object.fromEntries(
      Object.entries(response.headers()).filter(([name]) => !drop.includes(name.toLowerCase())),
    );
    await route.fulfill({ response, headers });
  });
}

it('[SE3] an SVG with a script, and XHTML that passes as SVG, never run their script from a signed link', async () => {
  const ama = await signUp();
  const svgName = `user-${ama.userId}/chart.svg`;
  const xhtmlName = `user-${ama.userId}/page.svg`;
  expect(await upload(ama, 'charts', svgName, 'image/svg+xml;charset=utf-8', Buffer.from(SCRIPTED_SVG))).toBe(
    201,
  );
  expect(await upload(ama, 'charts', xhtmlName, 'image/svg+xml', Buffer.from(XHTML_AS_SVG))).toBe(201);
  // HTML itself is not a type the store takes, in any bucket.
  const html = `<html><script>${PROBE}</script></html>`;
  expect(await upload(ama, 'documents', `user-${ama.userId}/page.html`, 'text/html', Buffer.from(html))).toBe(
    415,
  );

  const probe = watchProbe(e2e.context);
  const page = await e2e.context.newPage();
  for (const name of [svgName, xhtmlName]) {
    const link = await signedLink(ama, 'charts', name);
    // As served: a download, never a document on our origin.
    const download = await open(page, link);
    expect(download?.suggestedFilename(), name).toBe(name.split('/').at(-1));

    // Had the browser ignored the attachment header: shown, under the sandbox CSP, and the script blocked.
    await withoutHeaders(e2e.context, link, ['content-disposition']);
    expect(await open(page, link), name).toBeNull();
    expect(await page.evaluate(() => document.documentElement.localName)).toMatch(/^(svg|html)$/);
    await e2e.context.unroute(link);
  }
  expect(probe.seen).toEqual([]);
  expect(
    probe.console.filter((line) => line.includes('sandboxed') && line.includes('allow-scripts')),
  ).toHaveLength(2);
  expect(await probeStorage(page, e2e.server.url)).toBeNull();

  // A recording opened by its link still plays in place: the media CSP lets the player load it.
  const wav = Buffer.alloc(44 + 8000, 128);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + 8000, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(8000, 24);
  wav.writeUInt32LE(8000, 28);
  wav.writeUInt16LE(1, 32);
  wav.writeUInt16LE(8, 34);
  wav.write('data', 36);
  wav.writeUInt32LE(8000, 40);
  const wavName = `user-${ama.userId}/notes/voice.wav`;
  expect(await upload(ama, 'emergency', wavName, 'audio/wav', wav)).toBe(201);
  expect(await open(page, await signedLink(ama, 'emergency', wavName))).toBeNull();
  await expect
    .poll(() => page.evaluate(() => document.querySelector('video')?.readyState ?? -1), { timeout: 10_000 })
    .toBeGreaterThanOrEqual(1);
  expect(await page.evaluate(() => document.querySelector('video')?.duration)).toBeCloseTo(1, 1);

  // The control: the same SVG without our headers runs its script, so the probe above could have seen it.
  const control = await e2e.newContext();
  const controlProbe = watchProbe(control);
  const link = await signedLink(ama, 'charts', svgName);
  await withoutHeaders(control, link, ['content-disposition', 'content-security-policy']);
  const controlPage = await control.newPage();
  await open(controlPage, link);
  await expect.poll(() => controlProbe.seen.length).toBeGreaterThan(0);
  await control.unroute(link);
  expect(await probeStorage(controlPage, e2e.server.url)).toBe('ran');
}, 120_000);

it('[SE3] with USER_CONTENT_URL, a signed link is sent to the content origin, and the script runs nowhere', async () => {
  const contentOrigin = `http://localhost:${e2e.server.port}`;
  // The file's last test: the server keeps USER_CONTENT_URL until it is disposed.
  await e2e.server.restart({ env: { USER_CONTENT_URL: contentOrigin } });
  const ama = await signUp();
  const svgName = `user-${ama.userId}/chart.svg`;
  expect(await upload(ama, 'charts', svgName, 'image/svg+xml;charset=utf-8', Buffer.from(SCRIPTED_SVG))).toBe(
    201,
  );
  const link = await signedLink(ama, 'charts', svgName);
  expect(link.startsWith(e2e.server.url)).toBe(true);

  const probe = watchProbe(e2e.context);
  const page = await e2e.context.newPage();
  const onContent = `${contentOrigin}${link.slice(e2e.server.url.length)}`;
  const download = await open(page, link);
  expect(download?.url()).toBe(onContent);
  // (Chromium follows the 307 itself, past any route, so the shown case opens the content link directly.)
  await withoutHeaders(e2e.context, onContent, ['content-disposition']);
  expect(await open(page, onContent)).toBeNull();
  expect(page.url()).toBe(onContent);
  expect(probe.seen).toEqual([]);
  // The content origin serves no app: nothing there to read, and no way in.
  const app = await page.goto(`${contentOrigin}/`);
  expect(app?.status()).toBe(404);
}, 180_000);
