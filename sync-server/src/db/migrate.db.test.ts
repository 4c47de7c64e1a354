import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import type { Db } from './database.ts';
import { queryRows } from './query-rows.ts';

const rows = queryRows;

/** Sync bookkeeping and logs (schema/src/db/sync.ts), each with a user_id and RLS. */
const SYNC_TABLES = [
  'contact_merges',
  'field_clocks',
  'incident_events',
  'mood_revisions',
  'mutation_errors',
  'sync_clients',
  'user_versions',
] as const;

/**
 * What an account's deletion leaves (schema/src/db/data-rights.ts): RLS on and no policy, so the `authenticated`
 * role sees none of it; no user id (SPEC DR6).
 */
const SERVER_ONLY_TABLES = ['account_deletions', 'gone_alert_links'] as const;

/** Everything a migration can create, as one comparable value. */
async function catalogFingerprint(db: Db) {
  return {
    tables: await rows<{ name: string; rls: boolean }>(
      db,
      sql`select tablename as name, rowsecurity as rls from pg_tables where schemaname = 'public' order by 1`,
    ),
    policies: await rows(
      db,
      sql`select tablename, policyname, cmd, roles::text from pg_policies order by 1, 2`,
    ),
    indexes: await rows(
      db,
      sql`select indexname, indexdef from pg_indexes where schemaname = 'public' order by 1`,
    ),
    constraints: await rows(
      db,
      sql`select conname, pg_get_constraintdef(oid) as def from pg_constraint where connamespace = 'public'::regnamespace order by 1`,
    ),
    migrations: await rows(db, sql`select hash from drizzle.__drizzle_migrations order by id`),
  };
}

describeOnEachDatabase('migrations', (database) => {
  it('[DB1] create the 22 tables of record + 7 sync tables, with row-level security on every table that has a user id', async () => {
    const { db } = database();
    const { tables } = await catalogFingerprint(db);
    expect(tables).toHaveLength(22 + SYNC_TABLES.length + SERVER_ONLY_TABLES.length);
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining([...SYNC_TABLES, ...SERVER_ONLY_TABLES]),
    );
    const withUserId = await rows<{ table_name: string }>(
      db,
      sql`select table_name from information_schema.columns where table_schema = 'public' and column_name = 'user_id'`,
    );
    expect(withUserId.length).toBe(21 + SYNC_TABLES.length); // every table but users, whose own id is the owner
    for (const table of tables) expect(table, table.name).toMatchObject({ rls: true });
  });

  it('[DB1] give every RLS table a policy for the authenticated role', async () => {
    const { db } = database();
    const uncovered = await rows<{ tablename: string }>(
      db,
      sql`select t.tablename from pg_tables t where t.schemaname = 'public' and t.rowsecurity
          and not exists (select 1 from pg_policies p where p.tablename = t.tablename and 'authenticated' = any(p.roles))`,
    );
    expect(uncovered.map((t) => t.tablename).sort()).toEqual([...SERVER_ONLY_TABLES]);
  });

  it('[DB4] change nothing when run a second time', async () => {
    const database_ = database();
    const before = await catalogFingerprint(database_.db);
    await database_.migrate();
    await database_.migrate();
    expect(await catalogFingerprint(database_.db)).toEqual(before);
  });

  it('use a role that row-level security applies to (no superuser, no BYPASSRLS)', async () => {
    const { db } = database();
    const [role] = await rows<{ rolsuper: boolean; rolbypassrls: boolean }>(
      db,
      sql`select rolsuper, rolbypassrls from pg_roles where rolname = 'authenticated'`,
    );
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false });
  });
});
