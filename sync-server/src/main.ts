// Reads the environment, opens the database (embedded PGlite or DATABASE_URL), migrates, and listens on PORT.
import path from 'node:path';
import { buildApp, type AuthDeps } from './app.ts';
import { ConfigError, readConfig } from './config.ts';
import { loadSigningKey } from './auth/signing-key.ts';
import { DataDirLockedError } from './db/data-dir-lock.ts';
import { openConfiguredDatabase } from './open-configured-database.ts';
import { waitForDatabase } from './db/wait-for-database.ts';
import { startPostgresPokes, type PostgresPokes } from './sync/postgres-pokes.ts';
import { startTombstonePurges } from './sync/tombstone-purges.ts';
import { loadUrlSigningKey } from './storage/url-signing-key.ts';
import { supabaseStorage } from './storage/supabase-storage.ts';
import { createTwilioSms } from './alerts/twilio/twilio-sms.ts';
import { loadVapidKeys } from './alerts/web-push/vapid-keys.ts';
import { createWebPushSender } from './alerts/web-push/web-push-sender.ts';

process.on('uncaughtException', (error) => {
  // A misconfiguration is the operator's to fix: say what, without a stack trace.
  if (error instanceof ConfigError || error instanceof DataDirLockedError) {
    console.error(`VitalWatch cannot start: ${error.message}`);
    process.exit(1);
  }
  throw error;
});

/** SIGTERM ends the process within this time, even with requests still waiting on a database that does not answer. */
const SHUTDOWN_DEADLINE_MS = 5_000;
/** What shutdown closes, in the order started; closed last first. Registered from the start (SPEC DF5). */
const closers: Array<() => Promise<unknown>> = [];
let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  setTimeout(() => {
    console.error(
      `shutdown took longer than ${SHUTDOWN_DEADLINE_MS / 1000} s: exiting with requests unanswered`,
    );
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS).unref();
  for (const close of closers.reverse()) {
    await close().catch((error: unknown) => console.error('shutdown:', error));
  }
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

const config = readConfig(process.env);
const database = await openConfiguredDatabase(config);
closers.push(() => database.close());
// A database that is not up yet, or drops mid-migration, is waited for (SPEC DF4).
if (config.migrateOnStart) {
  await waitForDatabase('migrations', () => database.migrate(), { log: (message) => console.warn(message) });
}

const issuerOrigin = config.publicUrl ?? `http://localhost:${config.port}`;
const auth: AuthDeps =
  config.supabase !== null
    ? { kind: 'supabase', url: config.supabase.url, anonKey: config.supabase.anonKey }
    : {
        kind: 'embedded',
        key: await loadSigningKey({ fromEnv: config.authSigningKey, dataDir: config.dataDir }),
        issuer: `${issuerOrigin}/auth/v1`,
        accessTokenTtlSeconds: config.accessTokenTtlSeconds,
        sessionTtlDays: config.sessionTtlDays,
      };

// On Postgres, pokes fan out to every instance through LISTEN/NOTIFY on the direct (unpooled) connection.
const pokes: PostgresPokes | null =
  config.databaseUrl === null
    ? null
    : await startPostgresPokes(config.databaseUrlUnpooled ?? config.databaseUrl, (error) =>
        console.error('sync pokes: LISTEN connection failed, retrying', error),
      );
if (pokes !== null) closers.push(() => pokes.close());

// Alert delivery (issue #5, ADR 0010): SMS through Twilio when configured, Web Push with our VAPID keys,
// realtime through our event stream or Supabase Realtime.
const vapid = await loadVapidKeys({
  env: config.vapid,
  dataDir: config.dataDir,
  publicUrl: config.publicUrl,
});
if (vapid.warning !== null) console.warn(`Web Push: ${vapid.warning}`);
const twilio = config.twilio;
const sms =
  twilio === null
    ? null
    : {
        name: 'twilio',
        ...createTwilioSms({
          ...twilio,
          statusCallbackUrl: `${config.publicUrl}/webhooks/twilio/status`,
        }),
      };
if (sms === null)
  console.warn('SMS alerts: not configured (set TWILIO_*); alerts go by Web Push and realtime only');

if (config.supabase !== null && config.supabase.serviceKey === null) {
  console.warn(
    'Evidence: SUPABASE_SERVICE_KEY is not set, so uploads to Supabase Storage cannot be verified or shown to contacts',
  );
}
const app = await buildApp({
  db: database.db,
  dbKind: database.kind,
  auth,
  publicUrl: config.publicUrl,
  webDist: config.webDist,
  trustProxy: config.trustProxy,
  limits: config.limits,
  timeouts: config.timeouts,
  syncQuotas: config.syncQuotas,
  ...(pokes !== null && { pokes, sessionEnds: pokes.sessionEnds }),
  // Evidence media (ADR 0008): files under DATA_DIR/storage, download links signed with their own key; with
  // Supabase, devices upload to Supabase Storage and the server verifies and signs there with the service key.
  storage: {
    supabase:
      config.supabase === null
        ? null
        : config.supabase.serviceKey === null
          ? 'missing-service-key'
          : supabaseStorage({ url: config.supabase.url, serviceKey: config.supabase.serviceKey }),
    dir: path.join(config.dataDir, 'storage'),
    userContentUrl: config.userContentUrl,
    uploadLimits: config.uploadLimits,
    urlSigningKey: await loadUrlSigningKey({
      authSigningKey: config.authSigningKey,
      dataDir: config.dataDir,
    }),
  },
  alerts: {
    sms,
    twilioWebhooks: twilio === null ? null : { accountSid: twilio.accountSid, authToken: twilio.authToken },
    webPush: createWebPushSender({ db: database.db, vapid }),
    vapidPublicKey: vapid.publicKey,
    supabaseRealtime:
      config.supabase?.serviceKey != null
        ? { url: config.supabase.url, serviceKey: config.supabase.serviceKey }
        : null,
    leaseMs: config.alertLeaseMs,
  },
  logger: true,
});
closers.push(() => app.close());

// SPEC PL9: tombstones past the horizon go, so devices that were away longer get a reset (PL5).
const purges =
  config.tombstonePurgeIntervalMs === null
    ? null
    : startTombstonePurges({
        db: database.db,
        intervalMs: config.tombstonePurgeIntervalMs,
        log: {
          info: (message) => app.log.info(message),
          error: (err, message) => app.log.error({ err }, message),
        },
      });

if (purges !== null) closers.push(() => purges.stop());

await app.listen({ port: config.port, host: config.host });
app.log.info(`VitalWatch on ${database.kind}, auth ${auth.kind}, serving ${config.webDist}`);
