/**
 * The server's configuration, read once from the environment and validated: a bad value stops the start with a
 * message naming the variable, rather than failing later on a request.
 */
import path from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_HTTP_LIMITS,
  DEFAULT_HTTP_TIMEOUTS,
  type HttpLimits,
  type HttpTimeouts,
} from './http/http-limits.ts';
import { MAX_SAMPLES_PER_ENTRY } from '@vitalwatch/schema/protocol/mutators';
import { DEFAULT_SYNC_QUOTAS, type SyncQuotas } from './sync/push-quotas.ts';

/** Unset and empty both mean "not configured". */
const optionalUrl = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v))
  .pipe(z.url().optional());

/** A whole number in [min, max]; unset or empty = `fallback`. */
function whole(min: number, max: number, fallback: number) {
  return z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(min).max(max).default(fallback),
  );
}

const L = DEFAULT_HTTP_LIMITS;
const T = DEFAULT_HTTP_TIMEOUTS;

const MIB = 1024 * 1024;

/** A whole number ≥ 1 with a default; empty means unset. */
function positiveInt(fallback: number) {
  return z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(fallback),
  );
}

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('./data'),
  PUBLIC_URL: optionalUrl,
  DATABASE_URL: optionalUrl,
  DATABASE_URL_UNPOOLED: optionalUrl,
  SUPABASE_URL: optionalUrl,
  SUPABASE_ANON_KEY: z.string().optional(),
  SUPABASE_SERVICE_KEY: z.string().optional(),
  AUTH_SIGNING_KEY: z.string().optional(),
  AUTH_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
  AUTH_SESSION_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(60),
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true'),
  TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  WEB_DIST: z.string().optional(),
  TWILIO_ACCOUNT_SID: z
    .string()
    .regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio account SID (AC + 32 hex)')
    .optional(),
  TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  TWILIO_FROM: z
    .string()
    .regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 number such as +15551234567')
    .optional(),
  TWILIO_MESSAGING_SERVICE_SID: z
    .string()
    .regex(/^MG[0-9a-fA-F]{32}$/, 'must be a messaging service SID (MG + 32 hex)')
    .optional(),
  TWILIO_API_URL: optionalUrl,
  /** How long a claimed alert may be in flight before another attempt checks whether it went (ADR 0010). */
  ALERT_LEASE_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
  VAPID_PUBLIC_KEY: z.string().optional(),
  VAPID_PRIVATE_KEY: z.string().optional(),
  VAPID_SUBJECT: z.string().optional(),
  /** The only origin that serves users' files (SPEC SE4); unset = the app's own. */
  USER_CONTENT_URL: optionalUrl,
  /** Unfinished uploads one account may hold, SOS evidence aside (SPEC SE6). */
  UPLOAD_UNFINISHED_LIMIT: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(1).max(10_000).default(20),
  ),
  /** Hours without a new byte after which an unfinished upload (not SOS evidence) is deleted (SPEC SE7). */
  UPLOAD_ABANDONED_HOURS: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(1).max(720).default(24),
  ),
  /** Minutes between tombstone purges (SPEC PL9); 0 turns them off. 14 days at most (a Node timer's limit is ~24 days). */
  TOMBSTONE_PURGE_INTERVAL_MINUTES: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(0).max(20_160).default(1_440),
  ),
  // Request limits and timeouts (http/http-limits.ts, docs/security.md).
  RATE_LIMIT_SIGN_IN_PER_MINUTE: whole(1, 100_000, L.signInPerAddressPerMinute),
  SIGN_IN_FREE_FAILURES: whole(1, 1_000, L.signInFreeFailures),
  SIGN_IN_MAX_DELAY_SECONDS: whole(1, 86_400, L.signInMaxDelaySeconds),
  RATE_LIMIT_SIGN_UP_PER_HOUR: whole(1, 100_000, L.signUpPerAddressPerHour),
  RATE_LIMIT_USER_PER_MINUTE: whole(1, 1_000_000, L.userRequestsPerMinute),
  RATE_LIMIT_PUBLIC_PER_MINUTE: whole(1, 1_000_000, L.publicRequestsPerAddressPerMinute),
  RATE_LIMIT_WEBHOOKS_PER_MINUTE: whole(1, 1_000_000, L.webhookRequestsPerAddressPerMinute),
  HTTP_HEADERS_TIMEOUT_SECONDS: whole(1, 3_600, T.headersMs / 1000),
  HTTP_REQUEST_TIMEOUT_SECONDS: whole(1, 86_400, T.requestMs / 1000),
  HTTP_IDLE_TIMEOUT_SECONDS: whole(1, 86_400, T.idleMs / 1000),
  HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: whole(1, 3_600, T.keepAliveMs / 1000),
  /** Sync quotas (issue #13, SE20–SE22); the critical lane is never counted. */
  SYNC_MAX_SAMPLES_PER_PUSH: positiveInt(DEFAULT_SYNC_QUOTAS.samplesPerPush),
  SYNC_MAX_SAMPLES_PER_DAY: positiveInt(DEFAULT_SYNC_QUOTAS.samplesPerDay),
  SYNC_MAX_PUSH_MIB_PER_DAY: positiveInt(DEFAULT_SYNC_QUOTAS.pushBytesPerDay / MIB),
});

export type Config = {
  port: number;
  host: string;
  dataDir: string;
  /** The origin users reach us at; null = taken from each request's Host header. */
  publicUrl: string | null;
  databaseUrl: string | null;
  databaseUrlUnpooled: string | null;
  supabase: { url: string; anonKey: string; serviceKey: string | null } | null;
  authSigningKey: string | null;
  accessTokenTtlSeconds: number;
  sessionTtlDays: number;
  migrateOnStart: boolean;
  /** Behind a reverse proxy that sets X-Forwarded-For: take the client address from it (else it is spoofable). */
  trustProxy: boolean;
  webDist: string;
  /** How often the running server purges tombstones past the horizon, ms; null = never. */
  tombstonePurgeIntervalMs: number | null;
  /** SMS alerts through Twilio; null = not configured (the ledger says so, nothing pretends to send). */
  twilio: {
    accountSid: string;
    authToken: string;
    from: string | null;
    messagingServiceSid: string | null;
    apiUrl: string;
  } | null;
  alertLeaseMs: number;
  /** USER_CONTENT_URL as an origin (`https://files.example.net`); null = files are served on the app's origin. */
  userContentUrl: string | null;
  /** Unfinished-upload allowance per account and how long an idle one is kept (unfinished-uploads.ts). */
  uploadLimits: { unfinishedPerAccount: number; abandonedAfterMs: number };
  /** Web Push keys from the environment; unset keys are generated into DATA_DIR. */
  vapid: { publicKey: string | null; privateKey: string | null; subject: string | null };
  limits: HttpLimits;
  timeouts: HttpTimeouts;
  syncQuotas: SyncQuotas;
};

export class ConfigError extends Error {}

export function readConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid environment: ${problems}`);
  }
  const e = parsed.data;
  if (e.SUPABASE_URL !== undefined && !e.SUPABASE_ANON_KEY) {
    throw new ConfigError('SUPABASE_URL is set but SUPABASE_ANON_KEY is not: the web app needs both');
  }
  const twilioSet = [e.TWILIO_ACCOUNT_SID, e.TWILIO_AUTH_TOKEN].filter((v) => v !== undefined).length;
  if (e.SYNC_MAX_SAMPLES_PER_PUSH > e.SYNC_MAX_SAMPLES_PER_DAY) {
    throw new ConfigError(
      'SYNC_MAX_SAMPLES_PER_PUSH is larger than SYNC_MAX_SAMPLES_PER_DAY: a full push could never be stored',
    );
  }
  if (e.SYNC_MAX_SAMPLES_PER_PUSH < MAX_SAMPLES_PER_ENTRY) {
    throw new ConfigError(
      `SYNC_MAX_SAMPLES_PER_PUSH must be at least ${MAX_SAMPLES_PER_ENTRY}: one samples.append entry may carry that many`,
    );
  }
  if (twilioSet === 1) {
    throw new ConfigError('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN go together: set both, or neither');
  }
  if (twilioSet === 2 && e.TWILIO_FROM === undefined && e.TWILIO_MESSAGING_SERVICE_SID === undefined) {
    throw new ConfigError(
      'Twilio is configured but neither TWILIO_FROM nor TWILIO_MESSAGING_SERVICE_SID is set',
    );
  }
  if (e.HTTP_HEADERS_TIMEOUT_SECONDS > e.HTTP_REQUEST_TIMEOUT_SECONDS) {
    throw new ConfigError(
      'HTTP_HEADERS_TIMEOUT_SECONDS is longer than HTTP_REQUEST_TIMEOUT_SECONDS: the headers are part of the request',
    );
  }
  if (twilioSet === 2 && e.PUBLIC_URL === undefined) {
    throw new ConfigError(
      'Twilio is configured but PUBLIC_URL is not: Twilio signs its callbacks over PUBLIC_URL, and alerts link to it',
    );
  }
  const userContentUrl = e.USER_CONTENT_URL === undefined ? null : new URL(e.USER_CONTENT_URL);
  if (userContentUrl !== null) {
    if (!['http:', 'https:'].includes(userContentUrl.protocol) || userContentUrl.pathname !== '/') {
      throw new ConfigError(
        `USER_CONTENT_URL must be an origin such as https://files.example.net, with no path (got ${e.USER_CONTENT_URL})`,
      );
    }
    const publicHost = e.PUBLIC_URL === undefined ? null : new URL(e.PUBLIC_URL).host;
    if (userContentUrl.host === publicHost) {
      throw new ConfigError(
        "USER_CONTENT_URL must name another host than PUBLIC_URL: files served on the app's own host could reach its data",
      );
    }
  }
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    databaseUrl: e.DATABASE_URL ?? null,
    databaseUrlUnpooled: e.DATABASE_URL_UNPOOLED ?? null,
    supabase:
      e.SUPABASE_URL !== undefined && e.SUPABASE_ANON_KEY !== undefined
        ? {
            url: e.SUPABASE_URL.replace(/\/+$/, ''),
            anonKey: e.SUPABASE_ANON_KEY,
            serviceKey: e.SUPABASE_SERVICE_KEY ?? null,
          }
        : null,
    authSigningKey: e.AUTH_SIGNING_KEY ?? null,
    accessTokenTtlSeconds: e.AUTH_ACCESS_TOKEN_TTL_SECONDS,
    sessionTtlDays: e.AUTH_SESSION_TTL_DAYS,
    migrateOnStart: e.MIGRATE_ON_START === 'true',
    trustProxy: e.TRUST_PROXY === 'true',
    webDist: path.resolve(e.WEB_DIST ?? new URL('../../web/dist', import.meta.url).pathname),
    tombstonePurgeIntervalMs:
      e.TOMBSTONE_PURGE_INTERVAL_MINUTES === 0 ? null : e.TOMBSTONE_PURGE_INTERVAL_MINUTES * 60_000,
    twilio:
      e.TWILIO_ACCOUNT_SID !== undefined && e.TWILIO_AUTH_TOKEN !== undefined
        ? {
            accountSid: e.TWILIO_ACCOUNT_SID,
            authToken: e.TWILIO_AUTH_TOKEN,
            from: e.TWILIO_FROM ?? null,
            messagingServiceSid: e.TWILIO_MESSAGING_SERVICE_SID ?? null,
            apiUrl: (e.TWILIO_API_URL ?? 'https://api.twilio.com').replace(/\/+$/, ''),
          }
        : null,
    alertLeaseMs: e.ALERT_LEASE_SECONDS * 1000,
    userContentUrl: userContentUrl?.origin ?? null,
    uploadLimits: {
      unfinishedPerAccount: e.UPLOAD_UNFINISHED_LIMIT,
      abandonedAfterMs: e.UPLOAD_ABANDONED_HOURS * 60 * 60 * 1000,
    },
    vapid: {
      publicKey: e.VAPID_PUBLIC_KEY || null,
      privateKey: e.VAPID_PRIVATE_KEY || null,
      subject: e.VAPID_SUBJECT || null,
    },
    limits: {
      signInPerAddressPerMinute: e.RATE_LIMIT_SIGN_IN_PER_MINUTE,
      signInFreeFailures: e.SIGN_IN_FREE_FAILURES,
      signInMaxDelaySeconds: e.SIGN_IN_MAX_DELAY_SECONDS,
      signUpPerAddressPerHour: e.RATE_LIMIT_SIGN_UP_PER_HOUR,
      userRequestsPerMinute: e.RATE_LIMIT_USER_PER_MINUTE,
      publicRequestsPerAddressPerMinute: e.RATE_LIMIT_PUBLIC_PER_MINUTE,
      webhookRequestsPerAddressPerMinute: e.RATE_LIMIT_WEBHOOKS_PER_MINUTE,
    },
    timeouts: {
      headersMs: e.HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      requestMs: e.HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      idleMs: e.HTTP_IDLE_TIMEOUT_SECONDS * 1000,
      keepAliveMs: e.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    },
    syncQuotas: {
      samplesPerPush: e.SYNC_MAX_SAMPLES_PER_PUSH,
      samplesPerDay: e.SYNC_MAX_SAMPLES_PER_DAY,
      pushBytesPerDay: e.SYNC_MAX_PUSH_MIB_PER_DAY * MIB,
    },
  };
}
