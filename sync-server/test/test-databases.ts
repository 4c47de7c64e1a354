/**
 * Database tests run on every database we support: PGlite always, and real Postgres when TEST_DATABASE_URL is
 * set. Each test file gets fresh, migrated databases (a new in-memory PGlite; a new Postgres database with a
 * random name, dropped afterwards), so runs never collide.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { openDatabase, type Database, type DbKind } from '../src/db/database.ts';

export type TestDatabase = Database & { url: string | null };

async function createPostgresDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `vw_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ kind: 'postgres', url: url.toString(), unpooledUrl: null });
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

export async function createTestDatabase(kind: DbKind): Promise<TestDatabase> {
  if (kind === 'postgres') {
    const adminUrl = process.env.TEST_DATABASE_URL;
    if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set');
    return createPostgresDatabase(adminUrl);
  }
  const database = await openDatabase({ kind: 'pglite', dataDir: null });
  await database.migrate();
  return { ...database, url: null };
}

export function testDatabaseKinds(): DbKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/** Declares the suite once per database; `database()` returns that suite's fresh, migrated database. */
export function describeOnEachDatabase(
  title: string,
  suite: (database: () => TestDatabase, kind: DbKind) => void,
) {
  for (const kind of testDatabaseKinds()) {
    describe(`${title} [${kind}]`, () => {
      let current: TestDatabase | undefined;
      beforeAll(async () => {
        current = await createTestDatabase(kind);
      });
      afterAll(async () => {
        await current?.close();
      });
      suite(() => {
        if (current === undefined) throw new Error('database not ready');
        return current;
      }, kind);
    });
  }
}
