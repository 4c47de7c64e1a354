import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { buildApp, type AppDeps } from '../src/app.ts';
import { generateSigningKey, type SigningKey } from '../src/auth/signing-key.ts';
import type { Database } from '../src/db/database.ts';
import type { AlertsConfig } from '../src/alerts/alert-routes.ts';
import { UNTHROTTLED_HTTP_LIMITS } from './unthrottled-limits.ts';
import type { DbKind } from '../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from './test-databases.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Alert delivery with no channel (nothing is sent) and no timer: the alert pages and the ledger only. */
export function alertsWithoutChannels(): AlertsConfig {
  return {
    sms: null,
    twilioWebhooks: null,
    webPush: null,
    vapidPublicKey: null,
    supabaseRealtime: null,
    autoStart: false,
  };
}

export type RunningApp = { app: FastifyInstance; url: string; key: SigningKey; issuer: string };

/** The server with the embedded identity provider, listening on a free loopback port. */
export async function startEmbeddedApp(
  database: Database,
  overrides: Partial<
    Pick<
      AppDeps,
      | 'now'
      | 'bodyLimit'
      | 'storage'
      | 'pokes'
      | 'sessionEnds'
      | 'limits'
      | 'timeouts'
      | 'syncQuotas'
      | 'databaseGate'
    >
  > & {
    accessTokenTtlSeconds?: number;
    /** Several instances of one deployment share the signing key and the issuer. */
    key?: SigningKey;
    issuer?: string;
    /** Alert delivery, given the server's own URL (Twilio's callbacks and the alert links need it). */
    alerts?: (url: string) => AlertsConfig;
  } = {},
): Promise<RunningApp> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const key = overrides.key ?? (await generateSigningKey());
  const issuer = overrides.issuer ?? `${url}/auth/v1`;
  const app = await buildApp({
    db: database.db,
    dbKind: database.kind,
    auth: {
      kind: 'embedded',
      key,
      issuer,
      accessTokenTtlSeconds: overrides.accessTokenTtlSeconds ?? 900,
      sessionTtlDays: 30,
    },
    publicUrl: url,
    webDist: null,
    ...(overrides.now && { now: overrides.now }),
    ...(overrides.bodyLimit !== undefined && { bodyLimit: overrides.bodyLimit }),
    ...(overrides.storage && { storage: overrides.storage }),
    ...(overrides.pokes && { pokes: overrides.pokes }),
    ...(overrides.sessionEnds && { sessionEnds: overrides.sessionEnds }),
    ...(overrides.syncQuotas && { syncQuotas: overrides.syncQuotas }),
    ...(overrides.databaseGate && { databaseGate: overrides.databaseGate }),
    ...(overrides.alerts && { alerts: overrides.alerts(url) }),
    limits: overrides.limits ?? UNTHROTTLED_HTTP_LIMITS,
    ...(overrides.timeouts && { timeouts: overrides.timeouts }),
  });
  await app.listen({ port, host: '127.0.0.1' });
  return { app, url, key, issuer };
}

/**
 * Inside a suite: a server with SUPABASE_URL set, whose "Supabase" is a second VitalWatch server running the
 * embedded provider on its own database. It serves the same /auth/v1 endpoints and JWKS as Supabase Auth, so the
 * verifying server runs unchanged, with no mock. The fields are set once `beforeAll` has run.
 */
export function useSupabaseStandIn(
  database: () => TestDatabase,
  kind: DbKind,
  anonKey = 'the-supabase-anon-key',
): { supabase: RunningApp; app: FastifyInstance } {
  const servers = {} as { supabase: RunningApp; app: FastifyInstance };
  let supabaseDb: TestDatabase | undefined;
  beforeAll(async () => {
    supabaseDb = await createTestDatabase(kind);
    servers.supabase = await startEmbeddedApp(supabaseDb);
    servers.app = await buildApp({
      db: database().db,
      dbKind: database().kind,
      auth: { kind: 'supabase', url: servers.supabase.url, anonKey },
      publicUrl: null,
      webDist: null,
      limits: UNTHROTTLED_HTTP_LIMITS,
    });
  });
  afterAll(async () => {
    await servers.app.close();
    await servers.supabase.app.close();
    await supabaseDb?.close();
  });
  return servers;
}
