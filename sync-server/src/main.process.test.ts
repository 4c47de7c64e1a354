/**
 * The whole product as a user runs it: `main.ts` in its own process, configured only by the environment.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from '../test/test-databases.ts';
import { freePort } from '../test/test-app.ts';
import { startServer, stop, waitForHealth, type Server } from '../test/server-process.ts';

async function fakeWebBuild(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-web-'));
  await fs.mkdir(path.join(dir, 'assets'));
  await fs.writeFile(
    path.join(dir, 'index.html'),
    '<!doctype html><title>VitalWatch</title><p>app shell</p>',
  );
  await fs.writeFile(path.join(dir, 'assets', 'app-1a2b3c.js'), 'console.log(1)');
  return dir;
}

describe('main.ts on embedded PGlite (no DATABASE_URL)', () => {
  let server: Server;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-data-'));
    server = startServer({
      PORT: String(await freePort()),
      DATA_DIR: dataDir,
      WEB_DIST: await fakeWebBuild(),
    });
    await waitForHealth(server);
  });
  afterAll(async () => {
    await stop(server);
  });

  it('answers /healthz with db: pglite', async () => {
    const health = await (await fetch(`${server.url}/healthz`)).json();
    expect(health).toMatchObject({ status: 'ok', db: 'pglite' });
  });

  it('serves the web app from the same origin, with a fallback for app routes and immutable hashed assets', async () => {
    const index = await fetch(`${server.url}/`);
    expect(await index.text()).toContain('app shell');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const deepLink = await fetch(`${server.url}/history/2026-11`, { headers: { accept: 'text/html' } });
    expect(deepLink.status).toBe(200);
    expect(await deepLink.text()).toContain('app shell');
    const asset = await fetch(`${server.url}/assets/app-1a2b3c.js`);
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('keeps its signing key and data in DATA_DIR', async () => {
    const entries = await fs.readdir(dataDir);
    expect(entries).toEqual(expect.arrayContaining(['pglite', 'auth-signing-key.json', 'vitalwatch.lock']));
  });

  it('[LK1] a second server on the same DATA_DIR refuses to start and says why', async () => {
    const second = startServer({ PORT: String(await freePort()), DATA_DIR: dataDir });
    const code = await second.exited;
    expect(code).not.toBe(0);
    expect(second.output()).toMatch(/in use by another VitalWatch process/);
  });
});

describe.runIf(testDatabaseKinds().includes('postgres'))('main.ts with DATABASE_URL', () => {
  let server: Server;
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-data-'));
    server = startServer({
      PORT: String(await freePort()),
      DATA_DIR: dataDir,
      DATABASE_URL: database.url ?? '',
    });
    await waitForHealth(server);
  });
  afterAll(async () => {
    await stop(server);
    await database.close();
  });

  it('answers /healthz with db: postgres', async () => {
    const health = await (await fetch(`${server.url}/healthz`)).json();
    expect(health).toMatchObject({ status: 'ok', db: 'postgres' });
  });
});
