/**
 * The whole product as a user runs it: `main.ts` in its own process, configured only by the environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from '../test/test-databases.ts';
import { freePort } from '../test/test-app.ts';

const MAIN = new URL('./main.ts', import.meta.url).pathname;

type Server = { child: ChildProcess; url: string; output: () => string; exited: Promise<number | null> };

function startServer(env: Record<string, string>): Server {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url: `http://127.0.0.1:${env.PORT}`, output: () => output, exited };
}

async function waitForHealth(server: Server, timeoutMs = 60_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void server.exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`server exited (${exitCode}):\n${server.output()}`);
    try {
      const response = await fetch(`${server.url}/healthz`);
      if (response.ok) return await response.json();
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`server did not become healthy:\n${server.output()}`);
}

async function stop(server: Server) {
  server.child.kill('SIGTERM');
  return server.exited;
}

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
