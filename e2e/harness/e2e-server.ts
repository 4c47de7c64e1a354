/**
 * The real sync server, started the way the README starts it (`node --import tsx sync-server/src/main.ts` from the
 * repository root) as a child process on a free loopback port, with its own fresh DATA_DIR and the web build under
 * test as WEB_DIST.
 *
 * - Database: embedded PGlite in DATA_DIR (default), or `database: 'postgres'`: a fresh database on the local
 *   PostgreSQL (TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres), dropped by dispose(). Use
 *   Postgres when a test must count rows: PGlite's folder is locked by the server process.
 * - restart({ webDist }) stops the process and starts it again on the same port and DATA_DIR (and database): a
 *   new deployment as the installed app sees it.
 * - Everything the server prints is kept (output()) so a failing test can show it.
 * - A child left running when the test process exits is killed (process 'exit' hook), so a crashed or timed-out
 *   test file never leaves a server holding the port and the data-dir lock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { REPO_ROOT } from './web-build.ts';

export interface ServerOptions {
  /** The web build to serve (WEB_DIST). */
  readonly webDist: string;
  /** 'pglite' (default): embedded, in DATA_DIR. 'postgres': a fresh database on the local PostgreSQL 15. */
  readonly database?: 'pglite' | 'postgres';
  /** Extra environment for the server (e.g. AUTH_ACCESS_TOKEN_TTL_SECONDS). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface E2EServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The fresh Postgres database's URL, or null on PGlite. */
  readonly databaseUrl: string | null;
  /** The WEB_DIST the running process serves. */
  readonly webDist: string;
  /** Everything every process of this server printed, in order, with a marker line per start. */
  output(): string;
  /** Stops the process and starts it again (same port, DATA_DIR, database), optionally serving another build. */
  restart(options?: { webDist?: string; env?: Readonly<Record<string, string>> }): Promise<void>;
  /** Stops the process; data and database stay (restart() brings it back). */
  stop(): Promise<void>;
  /** Stops the process, deletes DATA_DIR and drops the Postgres database. */
  dispose(): Promise<void>;
  /** Runs SQL on the server's Postgres database (only with `database: 'postgres'`). */
  queryPostgres<Row extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
}

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      probe.close(() => resolve(address.port));
    });
  });
}

async function withAdminClient<T>(adminUrl: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${adminUrl.replace(/:[^:@/]*@/, ':***@')} (set TEST_DATABASE_URL, or start ` +
        `the local PostgreSQL 15 as .ci/run does): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function createDatabase(adminUrl: string): Promise<string> {
  const name = `vw_e2e_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdminClient(adminUrl, (client) => client.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(adminUrl: string, databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  await withAdminClient(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    // SIGTERM: main.ts closes the app and the database, which releases the DATA_DIR lock for a restart.
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await waitForExit(child);
    clearTimeout(timer);
  }
  running.delete(child);
}

export async function startServer(options: ServerOptions): Promise<E2EServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'vitalwatch-e2e-data-'));
  const adminUrl = process.env.TEST_DATABASE_URL || DEFAULT_ADMIN_URL;
  const databaseUrl = options.database === 'postgres' ? await createDatabase(adminUrl) : null;
  let output = '';
  let child: ChildProcess | null = null;
  let webDist = options.webDist;
  let extraEnv = options.env ?? {};
  let starts = 0;

  async function start(): Promise<void> {
    starts += 1;
    output += `\n----- server start #${starts}: WEB_DIST=${webDist} -----\n`;
    // NODE_ENV=test (set by vitest) is not how the README starts the server.
    const { NODE_ENV: _nodeEnv, ...inherited } = process.env;
    const env: Record<string, string | undefined> = {
      ...inherited,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      WEB_DIST: webDist,
      DATABASE_URL: databaseUrl ?? '',
      DATABASE_URL_UNPOOLED: '',
      PUBLIC_URL: '',
      SUPABASE_URL: '',
      ...extraEnv,
    };
    const proc = spawn(process.execPath, ['--import', 'tsx', 'sync-server/src/main.ts'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(proc);
    child = proc;
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      output += `----- server exited (code ${code}, signal ${signal}) -----\n`;
    });

    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`the server exited before it was healthy:\n${output}`);
      }
      try {
        const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        await stopChild(proc);
        throw new Error(`the server was not healthy within ${START_TIMEOUT_MS} ms:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function stop(): Promise<void> {
    if (child !== null) await stopChild(child);
    child = null;
  }

  try {
    await start();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    if (databaseUrl !== null) await dropDatabase(adminUrl, databaseUrl);
    throw error;
  }

  return {
    url,
    port,
    dataDir,
    databaseUrl,
    get webDist() {
      return webDist;
    },
    output: () => output,
    async restart(next = {}) {
      await stop();
      webDist = next.webDist ?? webDist;
      extraEnv = next.env ?? extraEnv;
      await start();
    },
    stop,
    async dispose() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
      if (databaseUrl !== null) await dropDatabase(adminUrl, databaseUrl);
    },
    async queryPostgres<Row extends Record<string, unknown>>(sql: string, params: unknown[] = []) {
      if (databaseUrl === null) {
        throw new Error(
          "queryPostgres needs startServer({ database: 'postgres' }): PGlite is locked by the server",
        );
      }
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query<Row>(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
  };
}
