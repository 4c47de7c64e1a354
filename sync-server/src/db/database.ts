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
 * - On Postgres every connection can die at any moment (a Neon compute restart or scale-to-zero terminates them
 *   all): no driver `'error'` event may go unheard (it would end the process), every client taken from the pool
 *   goes back on every path, failures included, and a request waits at most CONNECT_TIMEOUT_MS for a connection,
 *   so a lost database costs 503s, never a wedged server (SPEC DF1–DF3).
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
import { isTransientDatabaseError } from './transient-database-error.ts';

export type Tables = typeof tables;
export type Db = PgDatabase<PgQueryResultHKT, Tables>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbKind = 'pglite' | 'postgres';

/** The Postgres pool's clients: open ones, idle ones, and requests waiting for one. */
export type ConnectionCounts = { total: number; idle: number; waiting: number };

export type Database = {
  db: Db;
  kind: DbKind;
  /** Applies every committed migration not yet applied; running it again changes nothing. */
  migrate(): Promise<void>;
  /** The pool's counts on Postgres (with nothing in flight, idle = total); null on PGlite, which has no pool. */
  connections(): ConnectionCounts | null;
  close(): Promise<void>;
};

/** Connections per instance; a request beyond them waits for one. */
export const POOL_MAX = 10;
/** How long a request waits for a pool connection before it fails as transient (503 + Retry-After). */
export const CONNECT_TIMEOUT_MS = 5_000;

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
      connections: () => null,
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
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_MAX,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // A connection that dies (idle, or mid-query when the server restarts) emits 'error' on its client; without a
  // listener that would crash the process. The query in flight fails on its own and is reported to its caller;
  // the pool replaces the connection. Say so once per connection, so a flapping database is visible in the logs.
  const connectionLost = (error: Error) => console.error(`database connection lost: ${error.message}`);
  pool.on('connect', (client) => client.on('error', connectionLost));
  // The pool re-emits an idle client's error, which the client's own listener above has already logged.
  pool.on('error', () => {});
  const db: Db = drizzlePg({ client: pool, ...config });
  db.transaction = transactionReleasingItsClient(pool, config);
  return {
    db,
    kind: 'postgres',
    async migrate() {
      const client = new pg.Client({ connectionString: unpooledUrl ?? url });
      // A drop ends the statement in flight with an error (the migration transaction rolls back, and start-up
      // tries again, wait-for-database.ts); the client's own 'error' event must not end the process.
      client.on('error', (error) => console.error(`migration connection lost: ${error.message}`));
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
    connections: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => pool.end(),
  };
}

/**
 * `db.transaction` on the pool, releasing its client on every path. drizzle-orm 0.45's own runs BEGIN before the
 * try whose `finally` releases, so a BEGIN on a connection that died while idle in the pool (exactly what a
 * terminated backend gives) keeps its client checked out forever; `POOL_MAX` of those and every request, /healthz
 * included, waits for good (issue #21; drizzle-orm#6023, #6241, open). Here the client is taken and released by us
 * and drizzle's transaction runs on that one client (so drizzle releases nothing). After a transient failure the
 * client is destroyed rather than reused: its connection is lost or in an unknown state (did ROLLBACK run?).
 * One drizzle instance per pooled connection, made on its first transaction.
 */
function transactionReleasingItsClient(pool: pg.Pool, config: DrizzleConfig): Db['transaction'] {
  const onClient = new WeakMap<pg.PoolClient, Db>();
  return async (work, options) => {
    const client = await pool.connect();
    let broken = false;
    try {
      let clientDb = onClient.get(client);
      if (clientDb === undefined) {
        clientDb = drizzlePg({ client, ...config });
        onClient.set(client, clientDb);
      }
      return await clientDb.transaction(work, options);
    } catch (error) {
      broken = isTransientDatabaseError(error);
      throw error;
    } finally {
      client.release(broken);
    }
  };
}

/** How long `/healthz` waits for the database: one that stops answering without closing must still read as 503. */
const PING_TIMEOUT_MS = 3_000;

export async function pingDatabase(db: Db): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the database did not answer within ${PING_TIMEOUT_MS / 1000} s`)),
      PING_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([db.execute(sql`select 1`), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
