/**
 * Emergency data: contacts, incidents, the alert ledger and sensor samples.
 *
 * Incidents are created by devices (often offline) and folded by the server's state machine (issue #3):
 * `triggered_at` is the device's moment of the trigger, `received_at` when the server first saw it, so an
 * incident that arrives late is still labelled with its original time.
 */
import { sql } from 'drizzle-orm';
import { INCIDENT_STATUSES } from '../protocol/incident-status.ts';
import {
  boolean,
  check,
  doublePrecision,
  index,
  jsonb,
  pgEnum,
  pgTable,
  real,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { clientIdColumn, isUuidV7Check } from './ids.ts';
import { E164_PATTERN } from '../phone-patterns.ts';
import { CONTACT_DEFAULTS } from '../row-defaults.ts';
import { ALERT_CHANNELS, ALERT_STATUSES } from '../protocol/alert-status.ts';
import { userIdColumn, users } from './identity.ts';
import { ownRowsPolicy, syncColumns, timestamps } from './rls.ts';

export const emergencyContacts = pgTable(
  'emergency_contacts',
  {
    id: clientIdColumn(),
    userId: userIdColumn(),
    name: text('name').notNull(),
    phoneE164: text('phone_e164').notNull(),
    email: text('email'),
    relationship: text('relationship'),
    /** 1 is alerted at once, 2 after the first escalation, 3 only when everyone is alerted. */
    tier: smallint('tier').notNull().default(CONTACT_DEFAULTS.tier),
    notifyBySms: boolean('notify_by_sms').notNull().default(CONTACT_DEFAULTS.notifyBySms),
    /**
     * The contact's own VitalWatch account, approved by the owner: it gets Web Push and realtime alerts. Only the
     * owner's approval sets it (SPEC SE10): an alert link's holder can only ask (`app_link_requested_by`).
     */
    contactUserId: uuid('contact_user_id').references(() => users.id, { onDelete: 'set null' }),
    /**
     * The account that asked, from this contact's alert link, to get the alerts in the app and waits for the
     * owner's answer: at most one per contact. It gets nothing until the owner approves it (SPEC SE10–SE12).
     */
    appLinkRequestedBy: uuid('app_link_requested_by').references(() => users.id, { onDelete: 'set null' }),
    appLinkRequestedAt: timestamp('app_link_requested_at', { withTimezone: true }),
    shareLocation: boolean('share_location').notNull().default(CONTACT_DEFAULTS.shareLocation),
    notes: text('notes'),
    hlc: text('hlc'),
    ...syncColumns(),
    ...timestamps(),
  },
  (t) => [
    check('emergency_contacts_id_v7', isUuidV7Check(t.id)),
    check('emergency_contacts_phone_e164', sql`${t.phoneE164} ~ ${sql.raw(`'${E164_PATTERN}'`)}`),
    check('emergency_contacts_tier', sql`${t.tier} between 1 and 3`),
    check('emergency_contacts_name', sql`length(${t.name}) between 1 and 200`),
    // The same number created twice (e.g. on two offline devices) is one contact (merged by issue #3).
    uniqueIndex('emergency_contacts_user_phone_key')
      .on(t.userId, t.phoneE164)
      .where(sql`${t.deletedAt} is null`),
    index('emergency_contacts_user_version_idx').on(t.userId, t.version),
    // How many requests one account has waiting, across all owners (SE12's cap).
    index('emergency_contacts_app_link_requested_by_idx')
      .on(t.appLinkRequestedBy)
      .where(sql`${t.appLinkRequestedBy} is not null`),
    ownRowsPolicy(t.userId),
  ],
);

export const incidentTrigger = pgEnum('incident_trigger', [
  'panic_button',
  'fall_detected',
  'heart_rate_alert',
  'check_in_missed',
]);
export const incidentStatus = pgEnum('incident_status', INCIDENT_STATUSES);

export const emergencyIncidents = pgTable(
  'emergency_incidents',
  {
    id: clientIdColumn(),
    userId: userIdColumn(),
    /** Short code a contact quotes to acknowledge by SMS ("reply OK A7F3"). */
    code: text('code').notNull(),
    trigger: incidentTrigger('trigger').notNull(),
    status: incidentStatus('status').notNull().default('active'),
    triggeredAt: timestamp('triggered_at', { withTimezone: true }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    /** Set by a duress PIN: the screen shows "cancelled", contacts keep being alerted. Never pulled to devices. */
    silentEscalation: boolean('silent_escalation').notNull().default(false),
    /** Wrong PINs in SMS "SAFE <code> <PIN>" replies; at 5, only the app can end the incident. Never pulled. */
    smsPinFailures: smallint('sms_pin_failures').notNull().default(0),
    latitude: doublePrecision('latitude'),
    longitude: doublePrecision('longitude'),
    accuracyMeters: real('accuracy_meters'),
    locatedAt: timestamp('located_at', { withTimezone: true }),
    /** Device facts at trigger time (battery, network, app version); never used to decide alerts. */
    deviceContext: jsonb('device_context').$type<Record<string, unknown>>().notNull().default({}),
    ...syncColumns(),
    ...timestamps(),
  },
  (t) => [
    check('emergency_incidents_id_v7', isUuidV7Check(t.id)),
    check('emergency_incidents_code', sql`${t.code} ~ '^[A-Z0-9]{4,8}$'`),
    check(
      'emergency_incidents_location',
      sql`(${t.latitude} is null) = (${t.longitude} is null)
        and (${t.latitude} is null or (${t.latitude} between -90 and 90 and ${t.longitude} between -180 and 180))
        and (${t.accuracyMeters} is null or ${t.accuracyMeters} >= 0)`,
    ),
    uniqueIndex('emergency_incidents_user_code_key').on(t.userId, t.code),
    index('emergency_incidents_user_triggered_idx').on(t.userId, t.triggeredAt.desc()),
    index('emergency_incidents_open_idx')
      .on(t.userId)
      .where(sql`${t.status} in ('active', 'acknowledged')`), // OPEN_INCIDENT_STATUSES (a literal: drizzle-kit)
    index('emergency_incidents_user_version_idx').on(t.userId, t.version),
    ownRowsPolicy(t.userId),
  ],
);

export const alertChannel = pgEnum('alert_channel', ALERT_CHANNELS);
export const alertMessageKind = pgEnum('alert_message_kind', [
  'alert',
  'escalation',
  'location_update',
  'all_clear',
]);
/**
 * Twilio's statuses plus ours, and what each lets anyone claim: protocol/alert-status.ts (SPEC AL30). Append
 * only: the list is a Postgres enum.
 */
export const alertStatus = pgEnum('alert_status', ALERT_STATUSES);
export const alertResponse = pgEnum('alert_response', ['acknowledged', 'on_my_way', 'cannot_help']);

export type AlertStatusEntry = { status: string; at: string; errorCode?: string; segment?: number };

/** The delivery ledger: one row per contact × channel × message, with every status and its time. */
export const alertLogs = pgTable(
  'alert_logs',
  {
    id: clientIdColumn(),
    userId: userIdColumn(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => emergencyIncidents.id, { onDelete: 'cascade' }),
    contactId: uuid('contact_id').references(() => emergencyContacts.id, { onDelete: 'set null' }),
    channel: alertChannel('channel').notNull(),
    messageKind: alertMessageKind('message_kind').notNull(),
    /** contact × channel × message: a job that runs twice finds the row and does not send twice. */
    idempotencyKey: text('idempotency_key').notNull(),
    status: alertStatus('status').notNull().default('pending'),
    statusHistory: jsonb('status_history').$type<AlertStatusEntry[]>().notNull().default([]),
    /** Where it went: the E.164 number, or the contact's user id for Web Push and realtime. */
    toAddress: text('to_address'),
    /** The exact text sent, so a send left in doubt by a crash can be looked up at the provider. */
    body: text('body'),
    provider: text('provider'),
    providerMessageId: text('provider_message_id'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    attempts: smallint('attempts').notNull().default(0),
    segments: smallint('segments'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    /** A dispatcher claimed the row until then; past it, the send is in doubt and is checked before any retry. */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    respondedAt: timestamp('responded_at', { withTimezone: true }),
    response: alertResponse('response'),
    ...syncColumns(),
    ...timestamps(),
  },
  (t) => [
    check('alert_logs_id_v7', isUuidV7Check(t.id)),
    uniqueIndex('alert_logs_idempotency_key').on(t.idempotencyKey),
    uniqueIndex('alert_logs_provider_message_key').on(t.provider, t.providerMessageId),
    index('alert_logs_incident_idx').on(t.incidentId, t.createdAt),
    index('alert_logs_user_version_idx').on(t.userId, t.version),
    index('alert_logs_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} = 'pending'`),
    ownRowsPolicy(t.userId),
  ],
);

/** What a sensor sample measures; stored as a smallint to keep the row compact. */
export const SENSOR_KINDS = {
  heart_rate_bpm: 1,
  rr_interval_ms: 2,
  accel_magnitude_g: 3,
  fall_score: 4,
  spo2_percent: 5,
  skin_temp_c: 6,
  steps: 7,
} as const;
export type SensorKind = keyof typeof SENSOR_KINDS;

/**
 * High-volume append (tens of thousands of rows per user per day): 5 columns; measured 77 B a row for the
 * table and ~150–175 B with its indexes (bench/README.md).
 * Samples are immutable and never pulled back to devices, so they carry no sync columns. UUIDv7 ids keep the
 * primary key append-mostly; BRIN on recorded_at serves retention and time-range scans for a few pages.
 */
export const sensorReadings = pgTable(
  'sensor_readings',
  {
    id: uuid('id').primaryKey(),
    userId: userIdColumn(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull(),
    kind: smallint('kind').notNull(),
    value: real('value').notNull(),
  },
  (t) => [
    check(
      'sensor_readings_kind',
      sql`${t.kind} between 1 and ${sql.raw(String(Math.max(...Object.values(SENSOR_KINDS))))}`,
    ),
    index('sensor_readings_user_recorded_idx').on(t.userId, t.recordedAt),
    index('sensor_readings_recorded_brin').using('brin', t.recordedAt),
    ownRowsPolicy(t.userId),
  ],
);
