/**
 * No stored file runs script on our origin (issue #13, docs/security.md "Stored files"): the bare media type is
 * stored (SE1), every answer that carries a file has the sandbox CSP, nosniff and, for any type that can carry
 * script, an attachment disposition, whatever app-level hooks set (SE2), and with USER_CONTENT_URL files are
 * served only on that origin (SE4). The browser's side of it is e2e/stored-file-script.browser.test.ts.
 */
import Fastify from 'fastify';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mediaFiles } from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { evidenceUrlSigner } from '../app.ts';
import { embeddedIdentity } from '../auth/identity.ts';
import { PokeHub } from '../sync/poke-hub.ts';
import { registerStorageRoutes } from './storage-routes.ts';
import { UPLOAD_PATH } from './upload-routes.ts';
import { MEDIA_CSP, SCRIPTLESS_CSP } from './user-content-headers.ts';
import {
  fakeJpeg,
  fakeWebm,
  runUpload,
  sha256Hex,
  signUp,
  startStorageServer,
  type Account,
  type StorageServer,
} from '../../test/storage-test-kit.ts';

/** An SVG whose script would read the app's data if it ran on our origin. */
const SCRIPTED_SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">' +
    '<script>indexedDB.databases().then((d) => fetch("/stolen?" + JSON.stringify(d)))</script>' +
    '<rect width="10" height="10"/></svg>',
);

/** The path and query of a signed link, for app.inject. */
function pathOf(url: string | undefined): string {
  const parsed = new URL(url ?? '');
  return parsed.pathname + parsed.search;
}

async function upload(
  server: StorageServer,
  account: Account,
  bucket: string,
  name: string,
  contentType: string,
  file: Buffer,
) {
  const objectName = `user-${account.userId}/${name}`;
  await runUpload({ baseUrl: server.url, token: account.token, file, bucket, objectName, contentType });
  const { data, error } = await account.supabase.storage.from(bucket).createSignedUrl(objectName, 600);
  if (error !== null) throw error;
  return { objectName, link: pathOf(data.signedUrl) };
}

describeOnEachDatabase('stored files: headers that keep script off our origin', (database) => {
  let server: StorageServer;
  let ama: Account;
  let svg: { objectName: string; link: string };

  beforeAll(async () => {
    server = await startStorageServer(database());
    ama = await signUp(server);
    svg = await upload(server, ama, 'charts', 'chart.svg', 'image/svg+xml;charset=utf-8', SCRIPTED_SVG);
  });
  afterAll(() => server.close());

  it('[SE1] stores the bare media type of an SVG sent with parameters, and serves it as an SVG to download, sandboxed', async () => {
    const [row] = await database()
      .db.select({ contentType: mediaFiles.contentType })
      .from(mediaFiles)
      .where(eq(mediaFiles.objectPath, svg.objectName));
    expect(row?.contentType).toBe('image/svg+xml');

    const response = await server.app.inject({ method: 'GET', url: svg.link });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/svg+xml');
    expect(response.headers['content-security-policy']).toBe(SCRIPTLESS_CSP);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-disposition']).toBe('attachment; filename="chart.svg"');
    expect(response.rawPayload.equals(SCRIPTED_SVG)).toBe(true);
  });

  it('[SE1] a row stored with parameters before the fix is still served by its bare type', async () => {
    await database()
      .db.update(mediaFiles)
      .set({ contentType: 'Image/SVG+XML; charset=utf-8' })
      .where(eq(mediaFiles.objectPath, svg.objectName));
    try {
      const response = await server.app.inject({ method: 'GET', url: svg.link });
      expect(response.headers).toMatchObject({
        'content-type': 'image/svg+xml',
        'content-security-policy': SCRIPTLESS_CSP,
        'content-disposition': 'attachment; filename="chart.svg"',
      });
    } finally {
      await database()
        .db.update(mediaFiles)
        .set({ contentType: 'image/svg+xml' })
        .where(eq(mediaFiles.objectPath, svg.objectName));
    }
  });

  it('[SE2] PDF and JSON are downloads under the scriptless CSP; audio and photos play in place under a CSP without script', async () => {
    const pdf = await upload(
      server,
      ama,
      'documents',
      'letter.pdf',
      'application/pdf',
      Buffer.from('%PDF-1.7\n1 0 obj <</JS (app.alert(1))>>'),
    );
    const json = await upload(
      server,
      ama,
      'exports',
      'export.json',
      'application/json',
      Buffer.from('{"a":"<script>alert(1)</script>"}'),
    );
    const audio = await upload(
      server,
      ama,
      'emergency',
      'notes/voice.webm',
      'audio/webm;codecs=opus',
      fakeWebm(5000),
    );
    const photo = await upload(server, ama, 'avatars', 'me.jpg', 'image/jpeg', fakeJpeg(5000));
    const headersOf = async (link: string) => {
      const response = await server.app.inject({ method: 'GET', url: link });
      expect(response.statusCode).toBe(200);
      const { headers } = response;
      return [
        headers['content-type'],
        headers['content-disposition'],
        headers['content-security-policy'],
        headers['x-content-type-options'],
      ];
    };
    expect(await headersOf(pdf.link)).toEqual([
      'application/pdf',
      'attachment; filename="letter.pdf"',
      SCRIPTLESS_CSP,
      'nosniff',
    ]);
    expect(await headersOf(json.link)).toEqual([
      'application/json',
      'attachment; filename="export.json"',
      SCRIPTLESS_CSP,
      'nosniff',
    ]);
    expect(await headersOf(audio.link)).toEqual(['audio/webm', 'inline', MEDIA_CSP, 'nosniff']);
    expect(await headersOf(photo.link)).toEqual(['image/jpeg', 'inline', MEDIA_CSP, 'nosniff']);
    // `?download` asks for an attachment whatever the type; its CSP is then the scriptless one.
    expect(await headersOf(`${audio.link}&download=voice.webm`)).toEqual([
      'audio/webm',
      'attachment; filename="voice.webm"',
      SCRIPTLESS_CSP,
      'nosniff',
    ]);
    expect(MEDIA_CSP).toMatch(/^sandbox allow-same-origin;/);
    expect(MEDIA_CSP).not.toContain('allow-scripts');
  });

  it('[SE2] app-level hooks that set looser headers (as a global helmet policy does) do not loosen a file', async () => {
    const app = Fastify();
    // helmet writes its headers on the raw response in onRequest; a hand-written policy might use onSend.
    app.addHook('onRequest', async (_request, reply) => {
      reply.raw.setHeader('content-security-policy', "default-src 'self'; script-src 'self'");
      reply.raw.setHeader('content-disposition', 'inline');
    });
    app.addHook('onSend', async (_request, reply, payload) => {
      void reply.header('content-security-policy', "script-src 'unsafe-inline'");
      void reply.header('x-content-type-options', 'sniff-please');
      return payload;
    });
    await registerStorageRoutes(app, {
      db: database().db,
      identity: embeddedIdentity(database().db, server.key, server.issuer),
      now: () => new Date(server.clock.ms),
      pokes: new PokeHub(),
      dir: server.dir,
      urlSigningKey: server.urlSigningKey,
    });
    try {
      const file = await app.inject({ method: 'GET', url: svg.link });
      expect(file.statusCode).toBe(200);
      expect(file.headers).toMatchObject({
        'content-security-policy': SCRIPTLESS_CSP,
        'content-disposition': 'attachment; filename="chart.svg"',
        'x-content-type-options': 'nosniff',
      });
      const refused = await app.inject({ method: 'GET', url: `${svg.link}x` });
      expect(refused.statusCode).toBe(403);
      expect(refused.headers['content-security-policy']).toBe(SCRIPTLESS_CSP);
      const tus = await app.inject({ method: 'OPTIONS', url: UPLOAD_PATH });
      expect(tus.headers['content-security-policy']).toBe(SCRIPTLESS_CSP);
    } finally {
      await app.close();
    }
  });

  it("[SE2] the upload endpoint never serves an upload's bytes, and its answers are sandboxed and nosniff", async () => {
    const file = Buffer.from(SCRIPTED_SVG);
    const created = await server.app.inject({
      method: 'POST',
      url: UPLOAD_PATH,
      headers: {
        authorization: `Bearer ${ama.token}`,
        'tus-resumable': '1.0.0',
        'upload-length': String(file.length),
        'upload-metadata': [
          `bucketName ${Buffer.from('charts').toString('base64')}`,
          `objectName ${Buffer.from(`user-${ama.userId}/half.svg`).toString('base64')}`,
          `contentType ${Buffer.from('image/svg+xml').toString('base64')}`,
          `sha256 ${Buffer.from(sha256Hex(file)).toString('base64')}`,
        ].join(','),
        'content-type': 'application/offset+octet-stream',
      },
      payload: file.subarray(0, 60),
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers['content-security-policy']).toBe(SCRIPTLESS_CSP);
    expect(created.headers['x-content-type-options']).toBe('nosniff');
    const url = String(created.headers.location);
    const head = await server.app.inject({
      method: 'HEAD',
      url,
      headers: { authorization: `Bearer ${ama.token}`, 'tus-resumable': '1.0.0' },
    });
    expect(head.headers['upload-offset']).toBe('60');
    expect(head.headers['content-security-policy']).toBe(SCRIPTLESS_CSP);
    const get = await server.app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${ama.token}`, accept: 'text/html,*/*' },
    });
    expect(get.statusCode).toBe(404);
    expect(get.body).not.toContain('<svg');
  });
});

describeOnEachDatabase('stored files on a separate origin (USER_CONTENT_URL)', (database) => {
  const CONTENT = 'http://files.test';
  let server: StorageServer;
  let ama: Account;
  let photo: { objectName: string; link: string };
  let appHost: string;

  beforeAll(async () => {
    server = await startStorageServer(database(), { userContentUrl: CONTENT });
    ama = await signUp(server);
    photo = await upload(server, ama, 'avatars', 'me.jpg', 'image/jpeg', fakeJpeg(3000));
    appHost = new URL(server.url).host;
  });
  afterAll(() => server.close());

  it('[SE4] the app host sends a download link on to the content host, which alone serves the file', async () => {
    const moved = await server.app.inject({ method: 'GET', url: photo.link, headers: { host: appHost } });
    expect(moved.statusCode).toBe(307);
    expect(moved.headers.location).toBe(`${CONTENT}${photo.link}`);
    expect(moved.body).toBe('');

    const served = await server.app.inject({
      method: 'GET',
      url: photo.link,
      headers: { host: 'files.test' },
    });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/jpeg');
    expect(served.headers['content-security-policy']).toBe(MEDIA_CSP);
    expect(served.rawPayload.length).toBe(3000);
  });

  it('[SE4] the content host answers nothing but downloads: no app, no API, no sign-in, no uploads', async () => {
    for (const [method, url] of [
      ['GET', '/'],
      ['GET', '/config.json'],
      ['GET', '/healthz'],
      ['POST', '/auth/v1/token?grant_type=password'],
      ['POST', `/storage/v1/object/sign/avatars/${photo.objectName}`],
      ['POST', UPLOAD_PATH],
    ] as const) {
      const response = await server.app.inject({
        method,
        url,
        headers: { host: 'files.test', authorization: `Bearer ${ama.token}`, accept: 'text/html' },
      });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
    // The app host still answers them.
    const config = await server.app.inject({
      method: 'GET',
      url: '/config.json',
      headers: { host: appHost },
    });
    expect(config.statusCode).toBe(200);
  });

  it("[SE4] contacts' evidence links point at the content host", async () => {
    const sign = evidenceUrlSigner(
      { dir: server.dir, urlSigningKey: server.urlSigningKey, userContentUrl: CONTENT },
      () => new Date(server.clock.ms),
    );
    const url = await sign?.({ bucket: 'avatars', path: photo.objectName }, 60);
    expect(url?.startsWith(`${CONTENT}/storage/v1/object/sign/avatars/`)).toBe(true);
    const served = await server.app.inject({
      method: 'GET',
      url: pathOf(url),
      headers: { host: 'files.test' },
    });
    expect(served.statusCode).toBe(200);
  });
});
