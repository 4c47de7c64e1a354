/**
 * `buildApp(deps)` assembles the server without listening, so tests drive it with `app.inject()` or a real port;
 * main.ts reads the environment, opens the database and listens.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { SignJWT } from 'jose';
import { isServerPath } from '@vitalwatch/schema/server-paths';
import { embeddedIdentity, supabaseIdentity, type Identity } from './auth/identity.ts';
import { registerEmbeddedAuthRoutes } from './auth/embedded-auth-routes.ts';
import type { SigningKey } from './auth/signing-key.ts';
import { pingDatabase, type Db, type DbKind } from './db/database.ts';
import type { DatabaseGate } from './db/database-gate.ts';
import { installErrorHandler, notFound } from './http/http-error.ts';
import {
  DEFAULT_HTTP_LIMITS,
  DEFAULT_HTTP_TIMEOUTS,
  type HttpLimits,
  type HttpTimeouts,
} from './http/http-limits.ts';
import { installRateLimits } from './http/rate-limits.ts';
import { installSecurityHeaders } from './http/security-headers.ts';
import { registerProfileRoutes } from './http/profile-routes.ts';
import { registerStorageRoutes, type StorageConfig } from './storage/storage-routes.ts';
import { signedObjectUrl } from './storage/signed-url-routes.ts';
import { PokeHub, type Pokes } from './sync/poke-hub.ts';
import { SessionEndHub, type SessionEnds } from './auth/session-end-hub.ts';
import { registerAlerts, type AlertsConfig } from './alerts/alert-routes.ts';
import type { SignEvidenceUrl } from './alerts/ack-page-routes.ts';
import { AlertHub } from './alerts/realtime.ts';
import { DEFAULT_SYNC_QUOTAS, type SyncQuotas } from './sync/push-quotas.ts';
import { DEFAULT_SYNC_BODY_LIMIT, registerSyncRoutes } from './sync/sync-routes.ts';
import {
  embeddedPasswordCheck,
  registerDataRightsRoutes,
  supabasePasswordCheck,
} from './data-rights/data-rights-routes.ts';

export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string })
  .version;

export type AuthDeps =
  | {
      kind: 'embedded';
      key: SigningKey;
      issuer: string;
      accessTokenTtlSeconds: number;
      sessionTtlDays: number;
    }
  | { kind: 'supabase'; url: string; anonKey: string };

export type AppDeps = {
  db: Db;
  dbKind: DbKind;
  auth: AuthDeps;
  /** Our public origin; null = each request's own origin. */
  publicUrl: string | null;
  /** The built web app; null or missing = API only. */
  webDist: string | null;
  now?: () => Date;
  logger?: boolean;
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy?: boolean;
  /** Largest sync push/pull body in bytes, after gzip inflation. */
  syncBodyLimit?: number;
  /** What one account may write through sync; the defaults when missing (push-quotas.ts). */
  syncQuotas?: SyncQuotas;
  /** Samples per bulk step (run-bulk-push.ts); BULK_STEP_SAMPLES of the database kind when missing (the bench). */
  bulkStepSamples?: number;
  /** Who gets the database next (db/database-gate.ts); a new one for `dbKind` when missing (a test watches it). */
  databaseGate?: DatabaseGate;
  /** Where pushes announce commits to `GET /sync/events` streams; in-process by default. */
  pokes?: Pokes;
  /** Where sign-out and refresh-token reuse announce ended sessions to their event streams; in-process by default. */
  sessionEnds?: SessionEnds;
  /** The evidence media store under `/storage/v1/` (ADR 0008); null or missing = no storage routes. */
  storage?: StorageConfig | null;
  /** Alert delivery (issue #5); null or missing = no dispatcher (the sync and storage tests need none). */
  alerts?: AlertsConfig | null;
  /** Request limits (SPEC SE30, SE33); DEFAULT_HTTP_LIMITS when missing. */
  limits?: HttpLimits;
  /** Connection timeouts (SPEC SE31); DEFAULT_HTTP_TIMEOUTS when missing. */
  timeouts?: HttpTimeouts;
};

/**
 * Contacts' evidence links (ADR 0008): signed by Supabase Storage when the files live there (its service key),
 * else with our own key for files under DATA_DIR, on USER_CONTENT_URL when set (SPEC SE4); none when Supabase is
 * configured without a service key.
 */
export function evidenceUrlSigner(storage: StorageConfig | null, now: () => Date): SignEvidenceUrl | null {
  if (storage === null || storage.supabase === 'missing-service-key') return null;
  const { supabase } = storage;
  if (supabase != null) return (object, expiresIn) => supabase.sign(object, expiresIn);
  const origin = storage.userContentUrl ?? '';
  return async (object, expiresIn) =>
    `${origin}/storage/v1${await signedObjectUrl(storage.urlSigningKey, object, expiresIn, now())}`;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const now = deps.now ?? (() => new Date());
  const limits = deps.limits ?? DEFAULT_HTTP_LIMITS;
  const timeouts = deps.timeouts ?? DEFAULT_HTTP_TIMEOUTS;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.bodyLimit ?? 256 * 1024,
    trustProxy: deps.trustProxy ?? false,
    // A client that opens connections and then sends nothing, or a byte at a time, is cut off (SPEC SE31).
    connectionTimeout: timeouts.idleMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      // Node checks the two timeouts above on this interval (30 s by default, which would let a stalled
      // connection live up to 30 s past its deadline).
      connectionsCheckingInterval: Math.min(5_000, Math.max(50, Math.floor(timeouts.headersMs / 4))),
    },
  });
  installErrorHandler(app);
  const supabaseOrigin = deps.auth.kind === 'supabase' ? deps.auth.url : null;
  await installSecurityHeaders(app, { publicUrl: deps.publicUrl, supabaseUrl: supabaseOrigin });
  // Before any route: every route registered from here on gets its limit (rate-limits.ts).
  await installRateLimits(app, limits);

  let identity: Identity;
  let anonKey: string;
  const sessionEnds = deps.sessionEnds ?? new SessionEndHub();
  if (deps.auth.kind === 'embedded') {
    identity = embeddedIdentity(deps.db, deps.auth.key, deps.auth.issuer);
    // The "anon key" supabase-js insists on: public by design, it grants nothing here.
    anonKey = await new SignJWT({ role: 'anon' })
      .setProtectedHeader({ alg: 'ES256', kid: deps.auth.key.kid, typ: 'JWT' })
      .setIssuer(deps.auth.issuer)
      .setIssuedAt()
      .sign(deps.auth.key.privateKey);
    await registerEmbeddedAuthRoutes(app, { db: deps.db, identity, now, sessionEnds, ...deps.auth, limits });
  } else {
    identity = supabaseIdentity(deps.db, deps.auth.url);
    anonKey = deps.auth.anonKey;
  }
  const supabaseUrl = deps.auth.kind === 'supabase' ? deps.auth.url : deps.publicUrl;

  app.get('/healthz', async (_request, reply) => {
    try {
      await pingDatabase(deps.db);
      return { status: 'ok', db: deps.dbKind, version: VERSION };
    } catch (error) {
      app.log.error({ err: error }, 'health check: database unreachable');
      return reply.status(503).send({ status: 'error', db: deps.dbKind, version: VERSION });
    }
  });

  // Nothing to do, nothing to check: a device opens a spare connection with it while it uploads (SPEC CL15).
  app.head('/sync/ping', { helmet: false }, async (_request, reply) => reply.status(204).send());

  // One web build serves every deployment: it learns where auth lives at run time, and which channels this
  // server can alert through, so the app promises only those (SPEC SO42).
  const channels = {
    sms: Boolean(deps.alerts?.sms),
    webPush: Boolean(deps.alerts?.webPush) && Boolean(deps.alerts?.vapidPublicKey),
    realtime: Boolean(deps.alerts),
  };
  app.get('/config.json', async (request, reply) =>
    reply.header('cache-control', 'no-cache').send({
      supabaseUrl: supabaseUrl ?? `${request.protocol}://${request.host}`,
      supabaseAnonKey: anonKey,
      authProvider: identity.kind,
      channels,
    }),
  );

  const pokes = deps.pokes ?? new PokeHub();
  const alertHub = new AlertHub();
  const { storage } = deps;
  if (!deps.alerts) app.decorate('alerts', null);
  const alerts = deps.alerts
    ? await registerAlerts(app, {
        db: deps.db,
        identity,
        pokes,
        now,
        publicUrl: deps.publicUrl,
        hub: alertHub,
        config: deps.alerts,
        signEvidenceUrl: evidenceUrlSigner(storage ?? null, now),
      })
    : null;
  await registerProfileRoutes(app, { db: deps.db, identity, now, pokes });
  await registerSyncRoutes(app, {
    db: deps.db,
    dbKind: deps.dbKind,
    quotas: deps.syncQuotas ?? DEFAULT_SYNC_QUOTAS,
    identity,
    now,
    pokes,
    sessionEnds,
    alerts: alertHub,
    ...(alerts !== null && { onPushed: alerts.onPushed }),
    bodyLimit: deps.syncBodyLimit ?? DEFAULT_SYNC_BODY_LIMIT,
    ...(deps.bulkStepSamples !== undefined && { bulkStepSamples: deps.bulkStepSamples }),
    ...(deps.databaseGate && { gate: deps.databaseGate }),
  });
  if (deps.storage) await registerStorageRoutes(app, { ...deps.storage, db: deps.db, identity, now, pokes });
  // "Download my data" and "Delete my account" (issue #18; SPEC DR*).
  const supabaseFiles = storage?.supabase;
  await registerDataRightsRoutes(app, {
    db: deps.db,
    identity,
    now,
    sessionEnds,
    stores:
      supabaseFiles === 'missing-service-key'
        ? 'supabase-without-service-key'
        : { dir: storage?.dir ?? null, supabase: supabaseFiles ?? null },
    checkPassword: deps.auth.kind === 'embedded' ? embeddedPasswordCheck : supabasePasswordCheck(deps.auth),
  });

  const webDist =
    deps.webDist !== null && fs.existsSync(path.join(deps.webDist, 'index.html')) ? deps.webDist : null;
  if (webDist !== null) await serveWebApp(app, webDist);
  app.setNotFoundHandler((request, reply) => {
    const wantsPage =
      webDist !== null &&
      request.method === 'GET' &&
      !isServerPath(request.url) &&
      (request.headers.accept ?? '').includes('text/html');
    if (wantsPage) return reply.header('cache-control', 'no-cache').sendFile('index.html');
    return reply.status(404).send(notFound(request.method, request.url));
  });
  return app;
}

async function serveWebApp(app: FastifyInstance, root: string) {
  await app.register(fastifyStatic, {
    root,
    wildcard: true,
    index: ['index.html'],
    setHeaders(reply, filePath) {
      // Hashed assets never change; everything else (index.html, sw.js, the manifest) must be revalidated, or an
      // old service worker keeps an old app alive.
      const immutable = filePath.startsWith(path.join(root, 'assets') + path.sep);
      reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
