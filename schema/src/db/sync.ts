/**
 * Sync bookkeeping (issue #3, docs/sync-design.md) and the two append-only logs the sync rules keep.
 *
 * Invariants:
 * - Every row here belongs to one user and is written through `withUser`, so RLS (not the route code) keeps users
 *   apart. A device id (`sync_clients.client_id`) is bound to the first user who pushes with it: its three lane
 *   rows are created together, so another user's push finds them taken (the primary key) yet invisible (RLS).
 * - `user_versions.version` is the user's change counter. A push locks the row (`FOR UPDATE`) for its whole
 *   transaction, so versions are handed out in commit order per user and a pull that reads `version = V` in its
 *   snapshot sees every row stamped `<= V`.
 * - The logs (`mutation_errors`, `incident_events`, `mood_revisions`, `contact_merges`) are append-only for the
 *   user: nothing a device sends can rewrite what happened.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { newId } from '../ids.ts';
import { LANES } from '../protocol/lane.ts';
import { INCIDENT_EVENT_TYPES } from '../protocol/mutators.ts';
import { isUuidV7Check } from './ids.ts';
import { userIdColumn, users } from './identity.ts';
import { appendOnlyPolicies, ownRowsPolicy } from './rls.ts';
import { emergencyContacts, emergencyIncidents } from './safety.ts';
import { moodEntries } from './wellbeing.ts';

const inList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));

function logId() {
  return uuid('id')
    .primaryKey()
    .$defaultFn(() => newId());
}

/** One row per device × lane: the last seq the server has processed (applied, duplicate or rejected). */
export const syncClients = pgTable(
  'sync_clients',
  {
    userId: userIdColumn(),
    clientId: uuid('client_id').notNull(),
    lane: text('lane').notNull(),
    lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.clientId, t.lane] }),
    check('sync_clients_lane', sql`${t.lane} in (${inList(LANES)})`),
    check('sync_clients_last_seq', sql`${t.lastSeq} >= 0`),
    index('sync_clients_user_idx').on(t.userId),
    ownRowsPolicy(t.userId),
  ],
);

/**
 * The per-user change counter. `purged_through`: the highest version of a tombstone that has been purged; a
 * device whose pull cursor is below it may have missed a deletion and gets a reset.
 */
export const userVersions = pgTable(
  'user_versions',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    purgedThrough: bigint('purged_through', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    check(
      'user_versions_non_negative',
      sql`${t.version} >= 0 and ${t.purgedThrough} between 0 and ${t.version}`,
    ),
    ownRowsPolicy(t.userId),
  ],
);

/**
 * Every mutation the server refused for good (a rejected result): what was sent, why, and the message the user
 * saw. Kept so that nothing a device sent is ever lost without a trace.
 */
export const mutationErrors = pgTable(
  'mutation_errors',
  {
    id: logId(),
    userId: userIdColumn(),
    clientId: uuid('client_id').notNull(),
    lane: text('lane').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    name: text('name').notNull(),
    args: jsonb('args').$type<unknown>(),
    code: text('code').notNull(),
    message: text('message').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('mutation_errors_user_created_idx').on(t.userId, t.createdAt),
    index('mutation_errors_client_idx').on(t.clientId, t.lane, t.seq),
    ...appendOnlyPolicies(t.userId),
  ],
);

/**
 * The incident log: every event a device sent, in arrival order, with what the state machine made of it
 * (`applied`, `absorbed` after a terminal state, `illegal`). `duress` is server-only and never pulled.
 */
export const incidentEvents = pgTable(
  'incident_events',
  {
    id: uuid('id').primaryKey(),
    userId: userIdColumn(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => emergencyIncidents.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    latitude: doublePrecision('latitude'),
    longitude: doublePrecision('longitude'),
    accuracyMeters: real('accuracy_meters'),
    locatedAt: timestamp('located_at', { withTimezone: true }),
    contactIds: uuid('contact_ids').array(),
    sent: boolean('sent'),
    duress: boolean('duress').notNull().default(false),
    outcome: text('outcome').notNull(),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('incident_events_id_v7', isUuidV7Check(t.id)),
    check('incident_events_type', sql`${t.type} in (${inList(INCIDENT_EVENT_TYPES)})`),
    check('incident_events_outcome', sql`${t.outcome} in ('applied', 'absorbed', 'illegal')`),
    check(
      'incident_events_location',
      sql`(${t.latitude} is null) = (${t.longitude} is null)
        and (${t.latitude} is null or (${t.latitude} between -90 and 90 and ${t.longitude} between -180 and 180))`,
    ),
    index('incident_events_incident_idx').on(t.incidentId, t.at),
    index('incident_events_user_version_idx').on(t.userId, t.version),
    ...appendOnlyPolicies(t.userId),
  ],
);

/** The values a mood entry had before a last-writer-wins overwrite replaced them (and by which HLC). */
export const moodRevisions = pgTable(
  'mood_revisions',
  {
    id: logId(),
    userId: userIdColumn(),
    moodEntryId: uuid('mood_entry_id')
      .notNull()
      .references(() => moodEntries.id, { onDelete: 'cascade' }),
    /** The overwritten fields' previous values and HLCs: `{ note: { value, hlc } }`. */
    previous: jsonb('previous').$type<Record<string, { value: unknown; hlc: string | null }>>().notNull(),
    replacedByHlc: text('replaced_by_hlc').notNull(),
    replacedAtVersion: bigint('replaced_at_version', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('mood_revisions_entry_idx').on(t.moodEntryId, t.createdAt), ...appendOnlyPolicies(t.userId)],
);

export const FIELD_CLOCK_TABLES = ['mood_entries', 'emergency_contacts', 'user_settings'] as const;
export type FieldClockTable = (typeof FIELD_CLOCK_TABLES)[number];

/**
 * Field-level last-writer-wins: the HLC of the write that set each field of a row, `{ note: '…-0001-ab' }`.
 * Kept beside the tables of record (not in them) so the LWW rule covers moods, contacts and settings alike.
 * `row_id` is the row's id (the user's id for `user_settings`).
 */
export const fieldClocks = pgTable(
  'field_clocks',
  {
    userId: userIdColumn(),
    tableName: text('table_name').notNull(),
    rowId: uuid('row_id').notNull(),
    hlcs: jsonb('hlcs').$type<Record<string, string>>().notNull().default({}),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.tableName, t.rowId] }),
    check('field_clocks_table', sql`${t.tableName} in (${inList(FIELD_CLOCK_TABLES)})`),
    ownRowsPolicy(t.userId),
  ],
);

/**
 * The same phone number created as two contacts (two offline devices): the later id is merged into the one the
 * server had first. Later mutations naming `merged_id` apply to `survivor_id`; the merged id is tombstoned.
 */
export const contactMerges = pgTable(
  'contact_merges',
  {
    mergedId: uuid('merged_id').primaryKey(),
    userId: userIdColumn(),
    survivorId: uuid('survivor_id')
      .notNull()
      .references(() => emergencyContacts.id, { onDelete: 'cascade' }),
    version: bigint('version', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('contact_merges_user_idx').on(t.userId), ...appendOnlyPolicies(t.userId)],
);
