/**
 * The whole product as a user runs it: `main.ts` in its own process, configured only by the environment.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from '../test/test-databases.ts';
import { freePort } from '../test/test-app.ts';
import { startServer, stop, waitForHealth, type Server } from '../test/server-process.ts';
import { startTcpProxy } from '../test/tcp-proxy.ts';

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

/** Resolves when the server has printed something matching `pattern`; throws if it exits or takes over `ms`. */
async function waitForOutput(server: Server, pattern: RegExp, ms = 60_000): Promise<void> {
  let exitCode: number | null | undefined;
  void server.exited.then((code) => (exitCode = code));
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    if (pattern.test(server.output())) return;
    if (exitCode !== undefined)
      throw new Error(`server exited (${exitCode}) before ${pattern}:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${pattern} within ${ms} ms:\n${server.output()}`);
}

/** SIGTERM, then how the process ended: its exit code, or 'still running' after `ms`. */
async function terminate(server: Server, ms: number): Promise<number | null | 'still running'> {
  server.child.kill('SIGTERM');
  const late = new Promise<'still running'>((resolve) =>
    setTimeout(() => resolve('still running'), ms).unref(),
  );
  const outcome = await Promise.race([server.exited, late]);
  if (outcome === 'still running') server.child.kill('SIGKILL');
  return outcome;
}

/** A new, empty (unmigrated) database on the test server; `drop` removes it. */
async function emptyDatabase(): Promise<{ name: string; url: URL; drop(): Promise<void> }> {
  const adminUrl = process.env.TEST_DATABASE_URL ?? '';
  const name = `vw_test_start_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url,
    async drop() {
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      await dropper.query(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}

/** Within a few seconds: room for a loaded machine, far below "never" (the failure this guards against). */
const FEW_SECONDS_MS = 15_000;

// Each test starts main.ts (tsx compiles it: ~10–20 s on a loaded machine) and waits for it more than once.
describe.runIf(testDatabaseKinds().includes('postgres'))(
  'main.ts when the database is away [postgres]',
  { timeout: 180_000 },
  () => {
    const cleanups: Array<() => Promise<unknown>> = [];
    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    /** The server on `databaseUrl`, killed at the end of the suite if a test left it running. */
    async function serverOn(databaseUrl: string): Promise<Server> {
      const server = startServer({
        PORT: String(await freePort()),
        DATA_DIR: await fs.mkdtemp(path.join(os.tmpdir(), 'vw-data-')),
        DATABASE_URL: databaseUrl,
      });
      cleanups.push(async () => {
        if (server.child.exitCode === null) server.child.kill('SIGKILL');
        await server.exited;
      });
      return server;
    }

    it('[DF4][DF5] start-up waits for a database that is not there yet, saying so, and SIGTERM ends the wait', async () => {
      const database = await emptyDatabase();
      cleanups.push(() => database.drop());
      const url = new URL(database.url);
      url.port = String(await freePort()); // nothing listens there
      const server = await serverOn(url.toString());
      await waitForOutput(
        server,
        /migrations: waiting for the database \(connect ECONNREFUSED .*attempt 2 failed/s,
      );
      expect(await terminate(server, FEW_SECONDS_MS)).toBe(0);
    });

    it('[DF4] start-up waits for a database that appears later, then migrates and serves', async () => {
      const database = await emptyDatabase();
      cleanups.push(() => database.drop());
      const port = await freePort();
      const url = new URL(database.url);
      url.port = String(port);
      const server = await serverOn(url.toString());
      await waitForOutput(server, /migrations: waiting for the database \(connect ECONNREFUSED/);
      const proxy = await startTcpProxy(port, {
        host: database.url.hostname,
        port: Number(database.url.port || 5432),
      });
      cleanups.push(() => proxy.close());
      expect(await waitForHealth(server)).toMatchObject({ status: 'ok', db: 'postgres' });
      expect(await terminate(server, FEW_SECONDS_MS)).toBe(0);
    });

    it('[DF4] a migration whose connection is terminated half-way is rolled back and tried again: no crash', async () => {
      const database = await emptyDatabase();
      cleanups.push(() => database.drop());
      // Hold the migration ledger in SHARE mode: the server's migration transaction then applies the first
      // migration and waits to record it, half-way through; there its backend is terminated.
      const holder = new pg.Client({ connectionString: database.url.toString() });
      holder.on('error', () => {}); // ended by the database's drop if the test fails
      await holder.connect();
      await holder.query(`create schema drizzle;
      create table drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`);
      await holder.query('begin');
      await holder.query('lock table drizzle.__drizzle_migrations in share mode');
      const server = await serverOn(database.url.toString());
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? '' });
      await admin.connect();
      let terminated = 0;
      for (const deadline = Date.now() + 120_000; terminated === 0 && Date.now() < deadline;) {
        const { rows } = await admin.query<{ pid: number }>(
          `select pid from pg_stat_activity
          where datname = $1 and wait_event_type = 'Lock' and wait_event = 'relation' and query ilike 'insert into%'`,
          [database.name],
        );
        for (const { pid } of rows) {
          await admin.query('select pg_terminate_backend($1)', [pid]);
          terminated += 1;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await admin.end();
      expect(terminated).toBeGreaterThan(0);
      await waitForOutput(
        server,
        /migrations: waiting for the database \((terminating connection due to administrator command|Connection terminated unexpectedly)\)/,
      );
      await holder.query('commit');
      await holder.end();
      expect(await waitForHealth(server)).toMatchObject({ status: 'ok', db: 'postgres' });
      expect(await terminate(server, FEW_SECONDS_MS)).toBe(0);
    });

    it('[DF1][DF5] with a database that stops answering, /healthz says 503 and SIGTERM still ends the process', async () => {
      const database = await createTestDatabase('postgres');
      cleanups.push(() => database.close());
      const target = new URL(database.url ?? '');
      const port = await freePort();
      const proxy = await startTcpProxy(port, { host: target.hostname, port: Number(target.port || 5432) });
      cleanups.push(() => proxy.close());
      const url = new URL(target);
      url.port = String(port);
      const server = await serverOn(url.toString());
      await waitForHealth(server);
      const signup = await fetch(`${server.url}/auth/v1/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: `frozen-${Date.now()}@example.org`,
          password: 'a long enough passphrase',
        }),
      });
      const { access_token: token } = (await signup.json()) as { access_token: string };

      proxy.freeze();
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(503);
      // A push that now waits for an answer that never comes, holding its pool client.
      const stuck = fetch(`${server.url}/sync/pull`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION, clientId: crypto.randomUUID(), cursor: 0 }),
      }).catch(() => null);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const outcome = await terminate(server, FEW_SECONDS_MS);
      expect(outcome, server.output()).not.toBe('still running');
      expect(server.output()).toMatch(/SIGTERM: shutting down/);
      await stuck;
    });
  },
);
