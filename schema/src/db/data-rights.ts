/**
 * What an account's deletion (GDPR Art. 17, SPEC DR5–DR10) leaves behind: no personal data, only what the server
 * needs to keep its promises after the rows and files are gone.
 *
 * - `account_deletions`: the audit entry of one deletion: when it was asked for and finished, how many rows of
 *   each table and how many files went. The account is named only by the SHA-256 of its id, so a device still
 *   holding a token of that account can be told "this account was deleted" (its token's `sub`, hashed, matches),
 *   and a Supabase token of it is never provisioned again; `session_hashes` (SHA-256 of its session ids) lets a
 *   refresh token of a deleted session get the same answer. No email, name, phone or address.
 * - `gone_alert_links`: the SHA-256 of every alert link token the account had, so a contact opening `/a/<token>`
 *   is told 410 Gone ("this alert was deleted by its sender") instead of "wrong link".
 *
 * Written and read by the server only (RLS on, no policy: the `authenticated` role sees nothing).
 */
import { sql } from 'drizzle-orm';
import { check, customType, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

export const accountDeletions = pgTable(
  'account_deletions',
  {
    id: uuid('id').primaryKey(),
    /** SHA-256 of the account's id (as text). */
    subjectSha256: bytea('subject_sha256').notNull().unique('account_deletions_subject_key'),
    /** SHA-256 (hex) of each of the account's session ids, so their refresh tokens are answered `account_deleted`. */
    sessionHashes: text('session_hashes')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull(),
    completedAt: timestamp('completed_at', { withTimezone: true }).notNull(),
    /** Rows deleted, by table name: counts only. */
    rowsDeleted: jsonb('rows_deleted').$type<Record<string, number>>().notNull(),
    filesDeleted: integer('files_deleted').notNull(),
  },
  (t) => [check('account_deletions_subject_length', sql`octet_length(${t.subjectSha256}) = 32`)],
).enableRLS();

export const goneAlertLinks = pgTable(
  'gone_alert_links',
  {
    tokenSha256: bytea('token_sha256').primaryKey(),
    deletionId: uuid('deletion_id')
      .notNull()
      .references(() => accountDeletions.id, { onDelete: 'cascade' }),
  },
  (t) => [check('gone_alert_links_hash_length', sql`octet_length(${t.tokenSha256}) = 32`)],
).enableRLS();
