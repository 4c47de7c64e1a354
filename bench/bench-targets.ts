/**
 * The databases the bench runs on, each fresh and migrated, each removed afterwards:
 * - PGlite in memory (what the tests use),
 * - PGlite on disk in a temporary directory (what a self-hosted server uses),
 * - a throwaway database `vw_bench_<random>` on a real Postgres server, dropped `with (force)` at the end.
 *
 * Every target registers its cleanup with `cleanups` before it can fail, so a crash, a Ctrl-C or the watchdog
 * still removes temporary directories and databases.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '@vitalwatch/sync-server/db/database';
import { queryRows } from '@vitalwatch/sync-server/db/query-rows';

export type TargetName = 'pglite-memory' | 'pglite-disk' | 'postgres';

export type BenchTarget = {
  name: TargetName;
  database: Database;
  /** `select version()` as the engine reports it. */
  serverVersion: string;
  /** Where the data lives, for the printout. */
  location: string;
  /** Settings that decide write cost (durability, cache), as the engine reports them. */
  settings: string;
  close(): Promise<void>;
};

/**
 * Cleanup actions still owed; each runs once. `runAll` first waits for cleanups already under way (a target
 * closing when a signal arrives), then runs the rest in reverse order of registration.
 */
export class Cleanups {
  #pending: Array<{ label: string; run: () => Promise<void> }> = [];
  #running = new Set<Promise<void>>();

  add(label: string, run: () => Promise<void>): () => Promise<void> {
    const entry = { label, run };
    this.#pending.push(entry);
    return async () => {
      const index = this.#pending.indexOf(entry);
      if (index === -1) return;
      this.#pending.splice(index, 1);
      const running = run();
      this.#running.add(running);
      try {
        await running;
      } finally {
        this.#running.delete(running);
      }
    };
  }

  async runAll(): Promise<void> {
    await Promise.allSettled([...this.#running]);
    while (this.#pending.length > 0) {
      const entry = this.#pending.pop();
      if (entry === undefined) break;
      try {
        await entry.run();
      } catch (error) {
        console.error(
          `cleanup "${entry.label}" failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }
}

async function writeSettings(database: Database): Promise<string> {
  const rows = await queryRows<{ name: string; setting: string; unit: string | null }>(
    database.db,
    sql`select name, setting, unit from pg_settings
        where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'wal_level')
        order by name`,
  );
  return rows.map((row) => `${row.name}=${row.setting}${row.unit === null ? '' : ` ${row.unit}`}`).join(', ');
}

async function serverVersion(database: Database): Promise<string> {
  const rows = await queryRows<{ version: string }>(database.db, sql`select version() as version`);
  return rows[0]?.version ?? 'unknown';
}

export async function openPgliteMemory(cleanups: Cleanups): Promise<BenchTarget> {
  const database = await openDatabase({ kind: 'pglite', dataDir: null });
  const close = cleanups.add('close in-memory PGlite', () => database.close());
  await database.migrate();
  return {
    name: 'pglite-memory',
    database,
    serverVersion: await serverVersion(database),
    location: 'memory',
    settings: await writeSettings(database),
    close,
  };
}

export async function openPgliteDisk(cleanups: Cleanups): Promise<BenchTarget> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-bench-pglite-'));
  const removeDir = cleanups.add(`remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
  const database = await openDatabase({ kind: 'pglite', dataDir: dir });
  const closeDb = cleanups.add('close on-disk PGlite', () => database.close());
  await database.migrate();
  return {
    name: 'pglite-disk',
    database,
    serverVersion: await serverVersion(database),
    location: dir,
    settings: await writeSettings(database),
    async close() {
      await closeDb();
      await removeDir();
    },
  };
}

/** Resolves to the reason instead when the server cannot be reached, so the rest of the bench still runs. */
export async function openPostgres(
  adminUrl: string,
  cleanups: Cleanups,
): Promise<BenchTarget | { unreachable: string }> {
  const probe = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 });
  try {
    await probe.connect();
    await probe.query('select 1');
  } catch (error) {
    return { unreachable: error instanceof Error ? error.message || error.name : String(error) };
  } finally {
    await probe.end().catch(() => {});
  }

  const name = `vw_bench_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.query(`create database ${name}`));
  const dropDb = cleanups.add(`drop database ${name}`, () =>
    withAdmin(adminUrl, (admin) => admin.query(`drop database if exists ${name} with (force)`)),
  );
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ kind: 'postgres', url: url.toString(), unpooledUrl: null });
  const closeDb = cleanups.add('close Postgres pool', () => database.close());
  await database.migrate();
  return {
    name: 'postgres',
    database,
    serverVersion: await serverVersion(database),
    location: `${url.host}/${name}`,
    settings: await writeSettings(database),
    async close() {
      await closeDb();
      await dropDb();
    },
  };
}

async function withAdmin(adminUrl: string, work: (admin: pg.Client) => Promise<unknown>): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}
