/**
 * One drizzle code path over two drivers: embedded PGlite (no DATABASE_URL) or node-postgres.
 *
 * Invariants:
 * - A PGlite data directory is opened by one process at most: PGlite has no lock of its own and two processes
 *   corrupt it (pglite#1106), so `data-dir-lock.ts` guards it before PGlite opens it.
 * - PGlite runs one query at a time and a transaction blocks all others: fine for one device-owner's server,
 *   not for a crowd (README: when to move to Postgres).
 * - With DATABASE_URL_UNPOOLED set, migrations (and later LISTEN) use it; requests use DATABASE_URL, which may
 *   be a transaction-mode pooler, so nothing may depend on session state (see with-user.ts).
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql, type Logger } from 'drizzle-orm';
import pg from 'pg';
import * as tables from '@vitalwatch/schema/db/tables';
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts';

export type Tables = typeof tables;
export type Db = PgDatabase<PgQueryResultHKT, Tables>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbKind = 'pglite' | 'postgres';

export type Database = {
  db: Db;
  kind: DbKind;
  /** Applies every committed migration not yet applied; running it again changes nothing. */
  migrate(): Promise<void>;
  close(): Promise<void>;
};

export const MIGRATIONS_FOLDER = path.dirname(
  path.dirname(createRequire(import.meta.url).resolve('@vitalwatch/schema/drizzle/meta/_journal.json')),
);

export type DatabaseOptions = (
  { kind: 'pglite'; dataDir: string | null } | { kind: 'postgres'; url: string; unpooledUrl: string | null }
) & {
  /** Sees every statement before it is sent (drizzle's hook); a statement it throws on fails (tests' faults). */
  logger?: Logger;
};

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const config = { schema: tables, ...(options.logger && { logger: options.logger }) };
  return options.kind === 'pglite'
    ? openPglite(options.dataDir, config)
    : openPostgres(options.url, options.unpooledUrl, config);
}

type DrizzleConfig = { schema: Tables; logger?: Logger };

/** `dataDir: null` keeps the database in memory (tests). */
async function openPglite(dataDir: string | null, config: DrizzleConfig): Promise<Database> {
  let lock: DataDirLock | null = null;
  if (dataDir !== null) lock = await lockDataDir(dataDir);
  try {
    const client = dataDir === null ? new PGlite() : new PGlite(path.join(dataDir, 'pglite'));
    await client.waitReady;
    const db: Db = drizzlePglite({ client, ...config });
    return {
      db,
      kind: 'pglite',
      migrate: () => migratePglite(drizzlePglite({ client }), { migrationsFolder: MIGRATIONS_FOLDER }),
      async close() {
        await client.close();
        await lock?.release();
      },
    };
  } catch (error) {
    await lock?.release();
    throw error;
  }
}

async function openPostgres(
  url: string,
  unpooledUrl: string | null,
  config: DrizzleConfig,
): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // A connection that dies (idle, or mid-query when the server restarts) emits 'error' on its client; without a
  // listener that would crash the process. The query in flight fails on its own and is reported to its caller;
  // the pool replaces the connection. Say so once per connection, so a flapping database is visible in the logs.
  const connectionLost = (error: Error) => console.error(`database connection lost: ${error.message}`);
  pool.on('connect', (client) => client.on('error', connectionLost));
  // The pool re-emits an idle client's error, which the client's own listener above has already logged.
  pool.on('error', () => {});
  const db: Db = drizzlePg({ client: pool, ...config });
  return {
    db,
    kind: 'postgres',
    async migrate() {
      const client = new pg.Client({ connectionString: unpooledUrl ?? url });
      await client.connect();
      try {
        // Several instances may start at once: one migrates, the others wait and then find nothing to do.
        await client.query('select pg_advisory_lock(7715001)');
        await migratePg(drizzlePg({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await client.query('select pg_advisory_unlock(7715001)').catch(() => {});
        await client.end();
      }
    },
    close: () => pool.end(),
  };
}

export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}
