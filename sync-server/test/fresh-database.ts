/**
 * A fresh, migrated Postgres database with a random name `<prefix>_…` on the server of `adminUrl`, dropped by
 * `close()`. Used by the database tests (test-databases.ts) and the bench programs (bench/bench-database.ts).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database, type DatabaseOptions } from '../src/db/database.ts';

export type TestDatabase = Database & { url: string | null };

export async function createPostgresDatabase(
  adminUrl: string,
  prefix: string,
  options: Pick<DatabaseOptions, 'logger'> = {},
): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({
    kind: 'postgres',
    url: url.toString(),
    unpooledUrl: null,
    ...options,
  });
  await database.migrate();
  return {
    ...database,
    url: url.toString(),
    async close() {
      await database.close();
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      await dropper.query(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}
