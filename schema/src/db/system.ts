/**
 * Audit, usage and operational records. The server writes them (as the table owner, outside RLS); a user may
 * read their own rows and add audit entries, never change or delete them.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  check,
  index,
  inet,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { userIdColumn, users } from './identity.ts';
import { appendOnlyPolicies, readOwnPolicy } from './rls.ts';

/** The audit trail of who did what to whose health data (HIPAA-style), kept append-only. */
export const activityLogs = pgTable(
  'activity_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: userIdColumn(),
    /** Who acted: the user, a contact acting on a shared link (null) or the system (null + actor_kind). */
    actorUserId: uuid('actor_user_id'),
    actorKind: text('actor_kind').notNull().default('user'),
    /** Dotted verb, e.g. `auth.sign_in`, `incident.view`, `export.create`, `media.download`. */
    action: text('action').notNull(),
    targetTable: text('target_table'),
    targetId: text('target_id'),
    ip: inet('ip'),
    userAgent: text('user_agent'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('activity_logs_actor_kind', sql`${t.actorKind} in ('user', 'contact', 'system')`),
    check('activity_logs_action', sql`${t.action} ~ '^[a-z_]+(\\.[a-z_]+)+$'`),
    index('activity_logs_user_occurred_idx').on(t.userId, t.occurredAt),
    ...appendOnlyPolicies(t.userId),
  ],
);

/** Per-user counters per route and window (an hour; a UTC day for `sync/push`): rate limits, quotas, billing metrics. */
export const apiUsage = pgTable(
  'api_usage',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: userIdColumn(),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    route: text('route').notNull(),
    requests: integer('requests').notNull().default(0),
    rejected: integer('rejected').notNull().default(0),
    bytesIn: bigint('bytes_in', { mode: 'number' }).notNull().default(0),
    bytesOut: bigint('bytes_out', { mode: 'number' }).notNull().default(0),
    smsSent: integer('sms_sent').notNull().default(0),
    /** Sensor samples offered in the window's pushes (route `sync/push`: the daily sample quota, SE21). */
    samples: bigint('samples', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    uniqueIndex('api_usage_user_route_window_key').on(t.userId, t.route, t.windowStart),
    readOwnPolicy(t.userId),
  ],
);

export const systemEventLevel = pgEnum('system_event_level', ['debug', 'info', 'warn', 'error', 'fatal']);

/** Errors and performance events. `user_id` is set when the event concerns one user, who may then see it. */
export const systemEvents = pgTable(
  'system_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    level: systemEventLevel('level').notNull(),
    source: text('source').notNull(),
    event: text('event').notNull(),
    message: text('message'),
    context: jsonb('context').$type<Record<string, unknown>>().notNull().default({}),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    requestId: text('request_id'),
    durationMs: real('duration_ms'),
  },
  (t) => [
    index('system_events_occurred_idx').on(t.occurredAt),
    index('system_events_user_idx')
      .on(t.userId, t.occurredAt)
      .where(sql`${t.userId} is not null`),
    readOwnPolicy(t.userId),
  ],
);
