/**
 * What alert delivery (issue #5) keeps beside the ledger (`alert_logs` in safety.ts):
 * - `alert_links`: one per contact × incident, the token of the public page `/a/<token>` a contact opens from an
 *   alert (no login) to see the incident and answer "I'm on my way" / "I can't help". The token is the secret.
 * - `push_subscriptions`: the Web Push endpoints of a user's devices, for alerts to contacts who use the app.
 * Both are written by the server; a user may read their own rows.
 */
import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { userIdColumn } from './identity.ts';
import { readOwnPolicy, ownRowsPolicy } from './rls.ts';
import { alertResponse, emergencyContacts, emergencyIncidents } from './safety.ts';

export const alertLinks = pgTable(
  'alert_links',
  {
    /** 96 random bits, base64url: short enough for a one-segment SMS, too long to guess. */
    token: text('token').primaryKey(),
    /** The user in danger (the incident's owner). */
    userId: userIdColumn(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => emergencyIncidents.id, { onDelete: 'cascade' }),
    contactId: uuid('contact_id')
      .notNull()
      .references(() => emergencyContacts.id, { onDelete: 'cascade' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    response: alertResponse('response'),
    respondedAt: timestamp('responded_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('alert_links_token', sql`${t.token} ~ '^[A-Za-z0-9_-]{16}$'`),
    uniqueIndex('alert_links_incident_contact_key').on(t.incidentId, t.contactId),
    readOwnPolicy(t.userId),
  ],
);

export const pushSubscriptions = pgTable(
  'push_subscriptions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: userIdColumn(),
    endpoint: text('endpoint').notNull(),
    /** The subscription's P-256 public key and auth secret (base64url), as PushSubscription.toJSON() gives them. */
    p256dh: text('p256dh').notNull(),
    auth: text('auth').notNull(),
    userAgent: text('user_agent'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
  },
  (t) => [
    check('push_subscriptions_endpoint', sql`${t.endpoint} ~ '^https?://' and length(${t.endpoint}) <= 2048`),
    uniqueIndex('push_subscriptions_endpoint_key').on(t.endpoint),
    index('push_subscriptions_user_idx').on(t.userId),
    ownRowsPolicy(t.userId),
  ],
);
