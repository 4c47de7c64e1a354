/**
 * Database tests run on every database we support: PGlite always, and real Postgres when TEST_DATABASE_URL is
 * set. Each test file gets fresh, migrated databases (a new in-memory PGlite; a new Postgres database with a
 * random name, dropped afterwards), so runs never collide.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { openDatabase, type DatabaseOptions, type DbKind } from '../src/db/database.ts';
import { createPostgresDatabase, type TestDatabase } from './fresh-database.ts';

export type { TestDatabase };

type TestDatabaseOptions = Pick<DatabaseOptions, 'logger'>;

export async function createTestDatabase(
  kind: DbKind,
  options: TestDatabaseOptions = {},
): Promise<TestDatabase> {
  if (kind === 'postgres') {
    const adminUrl = process.env.TEST_DATABASE_URL;
    if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set');
    return createPostgresDatabase(adminUrl, 'vw_test', options);
  }
  const database = await openDatabase({ kind: 'pglite', dataDir: null, ...options });
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
  options: TestDatabaseOptions = {},
) {
  for (const kind of testDatabaseKinds()) {
    describe(`${title} [${kind}]`, () => {
      let current: TestDatabase | undefined;
      beforeAll(async () => {
        current = await createTestDatabase(kind, options);
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
