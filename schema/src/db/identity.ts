/**
 * Accounts, their settings, billing and sign-in sessions.
 *
 * `users.id` is the identity provider's subject: a UUIDv7 from our embedded provider, or Supabase Auth's
 * (UUIDv4) `sub` when SUPABASE_URL is set. `password_hash` is only used by the embedded provider.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  inet,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  smallint,
  text,
  time,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { E164_PATTERN, EMERGENCY_NUMBER_PATTERN } from '../phone-patterns.ts';
import { SETTINGS_DEFAULTS } from '../row-defaults.ts';
import { REGION_PATTERN } from '../settings-patterns.ts';
import { ownRowsPolicy, readOwnPolicy, syncColumns, timestamps } from './rls.ts';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey(),
    email: text('email'),
    phone: text('phone'),
    passwordHash: text('password_hash'),
    displayName: text('display_name'),
    locale: text('locale').notNull().default('en'),
    timeZone: text('time_zone').notNull().default('UTC'),
    /** The local emergency number the app offers as a `tel:` link; null = derived from the locale. */
    emergencyNumber: text('emergency_number'),
    userMetadata: jsonb('user_metadata').$type<Record<string, unknown>>().notNull().default({}),
    emailConfirmedAt: timestamp('email_confirmed_at', { withTimezone: true }),
    phoneConfirmedAt: timestamp('phone_confirmed_at', { withTimezone: true }),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }),
    /** Set when the user asks for erasure (GDPR Art. 17); a job deletes the rows and files. */
    deletionRequestedAt: timestamp('deletion_requested_at', { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex('users_email_key').on(sql`lower(${t.email})`),
    uniqueIndex('users_phone_key').on(t.phone),
    check('users_has_login', sql`${t.email} is not null or ${t.phone} is not null`),
    check('users_phone_e164', sql`${t.phone} ~ ${sql.raw(`'${E164_PATTERN}'`)}`),
    check('users_emergency_number', sql`${t.emergencyNumber} ~ ${sql.raw(`'${EMERGENCY_NUMBER_PATTERN}'`)}`),
    check('users_email_shape', sql`${t.email} ~ '^[^@\\s]+@[^@\\s]+$' and length(${t.email}) <= 320`),
    ownRowsPolicy(t.id),
  ],
);

/** The owning user of a row; deleting the user deletes the row (GDPR Art. 17). */
export function userIdColumn() {
  return uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' });
}

export const userSettings = pgTable(
  'user_settings',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** Seconds between pressing SOS and alerting; 0 sends at once. */
    sosCountdownSeconds: smallint('sos_countdown_seconds')
      .notNull()
      .default(SETTINGS_DEFAULTS.sosCountdownSeconds),
    /**
     * The device's verifier of the PIN that cancels an SOS, `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`
     * (sync-server/src/db/pin-verifier-column.ts); null = the server cannot check it, so an SMS cannot end an SOS.
     */
    cancelPinHash: text('cancel_pin_hash'),
    /** The duress PIN's verifier, same form: "SAFE <code> <duress PIN>" looks like a cancel, escalates silently. */
    duressPinHash: text('duress_pin_hash'),
    autoRecordAudioSeconds: smallint('auto_record_audio_seconds')
      .notNull()
      .default(SETTINGS_DEFAULTS.autoRecordAudioSeconds),
    shareMediaWithContacts: boolean('share_media_with_contacts')
      .notNull()
      .default(SETTINGS_DEFAULTS.shareMediaWithContacts),
    shareLocationWithContacts: boolean('share_location_with_contacts')
      .notNull()
      .default(SETTINGS_DEFAULTS.shareLocationWithContacts),
    escalateTier2AfterSeconds: integer('escalate_tier2_after_seconds')
      .notNull()
      .default(SETTINGS_DEFAULTS.escalateTier2AfterSeconds),
    escalateAllAfterSeconds: integer('escalate_all_after_seconds')
      .notNull()
      .default(SETTINGS_DEFAULTS.escalateAllAfterSeconds),
    moodReminderAt: time('mood_reminder_at'),
    quietHoursStart: time('quiet_hours_start'),
    quietHoursEnd: time('quiet_hours_end'),
    /**
     * Issue #14 (SPEC SO40): the region (ISO 3166-1 alpha-2, e.g. `KE`) that decides how typed phone numbers are
     * read and the default emergency number; null = the phone's own (its time zone, then its language).
     */
    region: text('region'),
    /** Issue #14 (SPEC SO40): an SOS makes no alarm sound and no vibration, and dims the screen. */
    silentSos: boolean('silent_sos').notNull().default(false),
    /** Per-channel notification preferences, e.g. `{ "push": true, "email": false }`. */
    notifications: jsonb('notifications').$type<Record<string, boolean>>().notNull().default({}),
    /** Hybrid logical clock of the last write, for field-level last-writer-wins (issue #3). */
    hlc: text('hlc'),
    ...syncColumns(),
    ...timestamps(),
  },
  (t) => [
    check('user_settings_countdown', sql`${t.sosCountdownSeconds} between 0 and 10`),
    check('user_settings_auto_record', sql`${t.autoRecordAudioSeconds} between 0 and 600`),
    check(
      'user_settings_escalation',
      sql`${t.escalateTier2AfterSeconds} > 0 and ${t.escalateAllAfterSeconds} >= ${t.escalateTier2AfterSeconds}`,
    ),
    check('user_settings_region', sql`${t.region} ~ ${sql.raw(`'${REGION_PATTERN}'`)}`),
    ownRowsPolicy(t.userId),
  ],
);

export const subscriptionPlan = pgEnum('subscription_plan', ['free', 'plus', 'care_team']);
export const subscriptionStatus = pgEnum('subscription_status', [
  'active',
  'trialing',
  'past_due',
  'canceled',
  'expired',
]);

export const subscriptionData = pgTable(
  'subscription_data',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    plan: subscriptionPlan('plan').notNull().default('free'),
    status: subscriptionStatus('status').notNull().default('active'),
    billingProvider: text('billing_provider'),
    billingCustomerId: text('billing_customer_id'),
    billingSubscriptionId: text('billing_subscription_id'),
    currentPeriodStart: timestamp('current_period_start', { withTimezone: true }),
    currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
    trialEndsAt: timestamp('trial_ends_at', { withTimezone: true }),
    cancelAt: timestamp('cancel_at', { withTimezone: true }),
    /** Server-sent SMS allowed per billing period (SOS alerts are never blocked by it, only counted). */
    smsQuota: integer('sms_quota').notNull().default(50),
    smsUsed: integer('sms_used').notNull().default(0),
    storageQuotaBytes: bigint('storage_quota_bytes', { mode: 'number' })
      .notNull()
      .default(500 * 1024 * 1024),
    ...timestamps(),
  },
  (t) => [
    check(
      'subscription_counts',
      sql`${t.smsQuota} >= 0 and ${t.smsUsed} >= 0 and ${t.storageQuotaBytes} >= 0`,
    ),
    readOwnPolicy(t.userId),
  ],
);

/**
 * One row per sign-in session. Refresh tokens rotate: only the hash of the current one is valid. The previous
 * one is kept so that presenting it again is reported as "already used" rather than "not found".
 */
export const userSessions = pgTable(
  'user_sessions',
  {
    id: uuid('id').primaryKey(),
    userId: userIdColumn(),
    refreshTokenHash: bytea('refresh_token_hash').notNull(),
    previousRefreshTokenHash: bytea('previous_refresh_token_hash'),
    userAgent: text('user_agent'),
    ip: inet('ip'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    refreshedAt: timestamp('refreshed_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason'),
  },
  (t) => [
    uniqueIndex('user_sessions_refresh_token_key').on(t.refreshTokenHash),
    index('user_sessions_previous_refresh_token_idx').on(t.previousRefreshTokenHash),
    index('user_sessions_user_idx').on(t.userId, t.createdAt),
    readOwnPolicy(t.userId),
  ],
);

/**
 * Short opaque tokens for sync requests (ADR 0012): a sync request that came with an access token (a JWT of
 * ~0.8 kB) is answered with one of these (~26 characters), which later sync requests send instead. Only the
 * SHA-256 of the token is stored. A row is valid until `expires_at`, never later than the access token it was
 * issued for; with the embedded provider also only while its session is live (joined on every check).
 * `session_id` is null with Supabase Auth, whose sessions live there and are not checked (as for its JWTs).
 * Written only by the server; expired rows are deleted when new ones are issued.
 */
export const syncTokens = pgTable(
  'sync_tokens',
  {
    tokenHash: bytea('token_hash').primaryKey(),
    userId: userIdColumn(),
    sessionId: uuid('session_id').references(() => userSessions.id, { onDelete: 'cascade' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('sync_tokens_hash_length', sql`octet_length(${t.tokenHash}) = 32`),
    index('sync_tokens_expires_idx').on(t.expiresAt),
    readOwnPolicy(t.userId),
  ],
);
