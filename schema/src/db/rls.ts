/**
 * Row-level security shared by every user-owned table.
 *
 * Invariants:
 * - The server never queries user data as the connection's own role: `withUser` (sync-server/src/db/with-user.ts)
 *   runs `set_config('request.jwt.claims', …, true)` and `set_config('role', 'authenticated', true)` inside the
 *   transaction, so nothing outlives it (safe on Neon's transaction-mode pooler).
 * - `authenticated` is created by migration 0000 and never owns a table, so RLS applies to it. The name matches
 *   Supabase and Neon RLS conventions, so the same policies work on either.
 * - The request's user is `request.jwt.claims ->> 'sub'`; no claims → NULL → no rows.
 */
import { type SQL, sql } from 'drizzle-orm';
import { type AnyPgColumn, bigint, pgPolicy, pgRole, timestamp } from 'drizzle-orm/pg-core';

export const authenticatedRole = pgRole('authenticated').existing();

/** The user id of the current request; wrapped in a sub-select so Postgres evaluates it once per statement. */
export const currentUserId: SQL = sql`(select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid`;

/** A user may read and write exactly the rows whose owner column is theirs. */
export function ownRowsPolicy(owner: AnyPgColumn) {
  const mine = sql`${owner} = ${currentUserId}`;
  return pgPolicy('own_rows', {
    as: 'permissive',
    for: 'all',
    to: authenticatedRole,
    using: mine,
    withCheck: mine,
  });
}

/** Append-only logs: a user may read their rows and add to them, never change or delete them. */
export function appendOnlyPolicies(owner: AnyPgColumn) {
  const mine = sql`${owner} = ${currentUserId}`;
  return [
    pgPolicy('own_rows_read', { as: 'permissive', for: 'select', to: authenticatedRole, using: mine }),
    pgPolicy('own_rows_append', { as: 'permissive', for: 'insert', to: authenticatedRole, withCheck: mine }),
  ];
}

/** Rows only the server writes (audit, usage, sessions): the user may read their own. */
export function readOwnPolicy(owner: AnyPgColumn) {
  return pgPolicy('own_rows_read', {
    as: 'permissive',
    for: 'select',
    to: authenticatedRole,
    using: sql`${owner} = ${currentUserId}`,
  });
}

/**
 * Sync bookkeeping on every row that is pulled back to devices (issue #3 fills these in):
 * `version` is the per-user change version assigned in commit order; `deleted_at` makes a row a tombstone.
 */
export function syncColumns() {
  return {
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  };
}

export function timestamps() {
  return {
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  };
}
