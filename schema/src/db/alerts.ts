/**
 * What alert delivery (issue #5) keeps beside the ledger (`alert_logs` in safety.ts):
 * - `alert_links`: one per contact × incident, the token of the public page `/a/<token>` a contact opens from an
 *   alert (no login) to see the incident and answer "I'm on my way" / "I can't help". The token is the secret.
 * - `push_subscriptions`: the Web Push endpoints of a user's devices, for alerts to contacts who use the app.
 * - `sos_test_messages`: "Test my SOS" (issue #14, SPEC SO44): one row per tier-1 contact texted a message marked
 *   as a test, with its statuses and the contact's reply. Never an incident, never escalated, never in the ledger
 *   of alerts (`alert_logs`), never synced: the app reads its own test's rows over HTTP.
 * - `inbound_sms`: the SMS replies the server has answered, by the provider's message id, so a replayed webhook
 *   is answered again but never applied twice (SPEC SE44).
 * All are written by the server; a user may read their own rows.
 */
import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { userIdColumn, users } from './identity.ts';
import { readOwnPolicy, ownRowsPolicy } from './rls.ts';
import {
  alertResponse,
  alertStatus,
  emergencyContacts,
  emergencyIncidents,
  type AlertStatusEntry,
} from './safety.ts';
import { clientIdColumn, isUuidV7Check } from './ids.ts';

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

/**
 * One row per inbound SMS the server took on (Twilio's `MessageSid`), claimed before the reply is applied. A signed
 * webhook can be replayed word for word (Twilio's signature covers no time), so a second delivery of a known sid
 * gets the stored `reply` (empty while the first is still being answered) and changes nothing. Rows older than
 * the retention (sync-server/src/alerts/inbound-sms-once.ts) are deleted as new ones arrive.
 */
export const inboundSms = pgTable(
  'inbound_sms',
  {
    messageSid: text('message_sid').primaryKey(),
    /** The user whose alert the message answered, once known; null for one that matched no alert. */
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    /** The text sent back; null until the message has been answered. */
    reply: text('reply'),
  },
  (t) => [
    check('inbound_sms_message_sid', sql`${t.messageSid} ~ '^[A-Z]{2}[0-9a-fA-F]{32}$'`),
    index('inbound_sms_received_idx').on(t.receivedAt),
    readOwnPolicy(t.userId),
  ],
);

/** "Test my SOS": one row per contact texted, grouped by `test_id` (one press of the button). */
export const sosTestMessages = pgTable(
  'sos_test_messages',
  {
    id: clientIdColumn(),
    userId: userIdColumn(),
    testId: uuid('test_id').notNull(),
    contactId: uuid('contact_id').references(() => emergencyContacts.id, { onDelete: 'set null' }),
    /** The contact's name when texted, so the outcome still reads right after an edit or a delete. */
    contactName: text('contact_name').notNull(),
    toAddress: text('to_address').notNull(),
    body: text('body').notNull(),
    provider: text('provider').notNull(),
    providerMessageId: text('provider_message_id'),
    status: alertStatus('status').notNull().default('pending'),
    statusHistory: jsonb('status_history').$type<AlertStatusEntry[]>().notNull().default([]),
    errorCode: text('error_code'),
    /** What the contact answered by SMS (the first reply after the test), as they wrote it. */
    replyBody: text('reply_body'),
    repliedAt: timestamp('replied_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    check('sos_test_messages_id_v7', isUuidV7Check(t.id)),
    uniqueIndex('sos_test_messages_provider_message_key').on(t.provider, t.providerMessageId),
    index('sos_test_messages_user_idx').on(t.userId, t.createdAt),
    index('sos_test_messages_to_idx').on(t.toAddress, t.createdAt),
    readOwnPolicy(t.userId),
  ],
);
