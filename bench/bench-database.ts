/**
 * The database a bench program runs on: PGlite in memory, or with BENCH_DATABASE_URL=postgres://… a fresh
 * Postgres database `<prefix>_…`, migrated, dropped by `drop()`.
 */
import { openDatabase, type Database } from '@vitalwatch/sync-server/db/database';
import { createPostgresDatabase } from '../sync-server/test/fresh-database.ts';

export async function openBenchDatabase(
  prefix: string,
): Promise<{ database: Database; kind: string; drop(): Promise<void> }> {
  const adminUrl = process.env['BENCH_DATABASE_URL'];
  if (!adminUrl) {
    const database = await openDatabase({ kind: 'pglite', dataDir: null });
    await database.migrate();
    return { database, kind: 'pglite', drop: () => database.close() };
  }
  const database = await createPostgresDatabase(adminUrl, prefix);
  return { database, kind: 'postgres', drop: () => database.close() };
}
