/**
 * Which tables hold a user's data, derived from the drizzle schema (schema/src/db/tables.ts) rather than listed by
 * hand, so a table added later is exported and deleted without anyone remembering to (SPEC DR1):
 *
 * - `users` itself (the row whose `id` is the user);
 * - every table with a `user_id` column that references `users.id` (the row's owner);
 * - every table that reaches one of those through a foreign key (a child row of the user's row).
 *
 * A table that is none of these must be named in NO_USER_DATA with the reason it holds nothing about a person; a
 * test fails for a table that is neither (user-data-tables.test.ts). Columns that reference a user without owning
 * the row (a contact's `contact_user_id`) belong to the other user's row: the foreign key clears them.
 */
import { is, type SQL, sql } from 'drizzle-orm';
import { getTableConfig, PgTable, type PgColumn } from 'drizzle-orm/pg-core';
import * as tables from '@vitalwatch/schema/db/tables';

/** Tables that hold nothing about a person, with the reason (checked by user-data-tables.test.ts). */
export const NO_USER_DATA: Readonly<Record<string, string>> = {
  account_deletions:
    'the audit of deletions: the account only as a SHA-256 of its id, counts and times (no email, name or phone)',
  gone_alert_links: 'SHA-256 hashes of deleted alert link tokens, so the links answer 410 Gone',
};

/**
 * Columns left out of the export, with why: secrets (or what an attacker could guess a secret from) that are no use
 * to the person and a danger in an archive that may be mailed or stored anywhere. The value is replaced by a note.
 */
export const REDACTED_COLUMNS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  users: { password_hash: 'a hash of your password: someone holding this file could try to guess it' },
  user_settings: {
    cancel_pin_hash: 'the check of your cancel PIN: a short PIN can be guessed from it',
    duress_pin_hash: 'the check of your duress PIN: a short PIN can be guessed from it',
  },
  user_sessions: {
    refresh_token_hash: 'a sign-in secret of one of your devices',
    previous_refresh_token_hash: 'a sign-in secret of one of your devices',
  },
  sync_tokens: { token_hash: 'a sign-in secret of one of your devices' },
  alert_links: { token: "the key to a contact's alert page" },
  push_subscriptions: { auth: "a secret of your device's notification channel" },
};

export type Owner =
  | { kind: 'self'; column: PgColumn }
  | { kind: 'column'; column: PgColumn }
  | { kind: 'parent'; column: PgColumn; parent: UserDataTable; parentColumn: PgColumn };

export type UserDataTable = {
  name: string;
  table: PgTable;
  owner: Owner;
  /** Primary key columns, for paging in a stable order. */
  primaryKey: PgColumn[];
};

/** Every table of record exported by schema/src/db/tables.ts. */
export function allTables(): PgTable[] {
  const values: unknown[] = Object.values(tables);
  return values.filter((value): value is PgTable => is(value, PgTable));
}

function tableName(table: PgTable): string {
  return getTableConfig(table).name;
}

type Reference = { column: PgColumn; foreignTable: PgTable; foreignColumn: PgColumn };

function referencesOf(table: PgTable): Reference[] {
  return getTableConfig(table).foreignKeys.flatMap((fk) => {
    const ref = fk.reference();
    const [column] = ref.columns;
    const [foreignColumn] = ref.foreignColumns;
    return ref.columns.length === 1 && column !== undefined && foreignColumn !== undefined
      ? [{ column, foreignTable: ref.foreignTable, foreignColumn }]
      : [];
  });
}

function primaryKeyOf(table: PgTable): PgColumn[] {
  const config = getTableConfig(table);
  const composite = config.primaryKeys[0]?.columns;
  return composite ?? config.columns.filter((column) => column.primary);
}

/**
 * The user-data tables, ordered so that a table comes before every table it references: deleting in this order
 * removes children before their parents, so each count is the table's own rows (no cascade did it first).
 */
export function userDataTables(): UserDataTable[] {
  const users = tables.users;
  const byName = new Map<string, UserDataTable>();
  const candidates = allTables();
  byName.set('users', {
    name: 'users',
    table: users,
    owner: { kind: 'self', column: users.id },
    primaryKey: [users.id],
  });
  for (const table of candidates) {
    const owner = referencesOf(table).find(
      (ref) => ref.column.name === 'user_id' && ref.foreignTable === users && ref.foreignColumn === users.id,
    );
    if (owner !== undefined) {
      const name = tableName(table);
      byName.set(name, {
        name,
        table,
        owner: { kind: 'column', column: owner.column },
        primaryKey: primaryKeyOf(table),
      });
    }
  }
  // Children of user-data tables, to a fixed point (a grandchild is found once its parent is).
  for (let grew = true; grew;) {
    grew = false;
    for (const table of candidates) {
      const name = tableName(table);
      if (byName.has(name)) continue;
      const link = referencesOf(table).find((ref) => byName.has(tableName(ref.foreignTable)));
      const parent = link && byName.get(tableName(link.foreignTable));
      if (link === undefined || parent === undefined) continue;
      byName.set(name, {
        name,
        table,
        owner: { kind: 'parent', column: link.column, parent, parentColumn: link.foreignColumn },
        primaryKey: primaryKeyOf(table),
      });
      grew = true;
    }
  }
  return childrenFirst([...byName.values()]);
}

function childrenFirst(list: UserDataTable[]): UserDataTable[] {
  const names = new Set(list.map((t) => t.name));
  const ordered: UserDataTable[] = [];
  const placed = new Set<string>();
  // A table is placed after every user-data table that references it (its children).
  const referrers = (name: string) =>
    list.filter(
      (t) =>
        t.name !== name &&
        referencesOf(t.table).some((ref) => tableName(ref.foreignTable) === name && names.has(name)),
    );
  const visit = (table: UserDataTable, path: Set<string>) => {
    if (placed.has(table.name) || path.has(table.name)) return;
    path.add(table.name);
    for (const child of referrers(table.name)) visit(child, path);
    path.delete(table.name);
    placed.add(table.name);
    ordered.push(table);
  };
  for (const table of list) visit(table, new Set());
  return ordered;
}

/** The condition that selects `userId`'s rows of the table. */
export function ownedBy(table: UserDataTable, userId: string): SQL {
  const { owner } = table;
  if (owner.kind !== 'parent') return sql`${owner.column} = ${userId}`;
  const parent = owner.parent;
  return sql`${owner.column} in (select ${owner.parentColumn} from ${parent.table} where ${ownedBy(parent, userId)})`;
}

/** Tables that neither hold user data (derived) nor are exempt with a reason: must be empty. */
export function unaccountedTables(): string[] {
  const covered = new Set(userDataTables().map((t) => t.name));
  return allTables()
    .map(tableName)
    .filter((name) => !covered.has(name) && !Object.hasOwn(NO_USER_DATA, name));
}
