import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { count } from 'drizzle-orm';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { activityLogs, userSessions, users } from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { startEmbeddedApp, type RunningApp } from '../../test/test-app.ts';
import type { Db } from '../db/database.ts';
import { generateSigningKey } from './signing-key.ts';

function client(server: RunningApp, anonKey: string): SupabaseClient {
  // Node 20 has no global WebSocket, which supabase-js's realtime client wants even when unused.
  return createClient(server.url, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    // ws's constructor is wider than the one realtime-js declares; it is the implementation realtime-js documents.
    realtime: { transport: WebSocket as never },
  });
}

async function rowCounts(db: Db) {
  const [u] = await db.select({ n: count() }).from(users);
  const [s] = await db.select({ n: count() }).from(userSessions);
  const [a] = await db.select({ n: count() }).from(activityLogs);
  return { users: u?.n, sessions: s?.n, audit: a?.n };
}

describeOnEachDatabase('embedded auth driven by supabase-js', (database) => {
  let server: RunningApp;
  let anonKey: string;
  beforeAll(async () => {
    server = await startEmbeddedApp(database());
    const config = (await (await fetch(`${server.url}/config.json`)).json()) as { supabaseAnonKey: string };
    anonKey = config.supabaseAnonKey;
  });
  afterAll(() => server.app.close());

  it('[AU1][AU3][AU4] signs up (confirmed at once, with a session), signs in, refreshes, reads the user and signs out', async () => {
    const supabase = client(server, anonKey);
    const signUp = await supabase.auth.signUp({
      email: 'ama@example.org',
      password: 'correct horse battery',
    });
    expect(signUp.error).toBeNull();
    expect(signUp.data.session?.access_token).toBeTruthy();
    expect(signUp.data.user?.email).toBe('ama@example.org');
    expect(signUp.data.user?.email_confirmed_at).toBeTruthy();

    const claims = decodeJwt(signUp.data.session?.access_token ?? '');
    expect(claims).toMatchObject({
      sub: signUp.data.user?.id,
      role: 'authenticated',
      aud: 'authenticated',
      iss: server.issuer,
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(900);

    const signIn = await supabase.auth.signInWithPassword({
      email: 'AMA@example.org',
      password: 'correct horse battery',
    });
    expect(signIn.error).toBeNull();
    const first = signIn.data.session;
    expect(first?.user.id).toBe(signUp.data.user?.id);

    const refreshed = await supabase.auth.refreshSession({ refresh_token: first?.refresh_token ?? '' });
    expect(refreshed.error).toBeNull();
    expect(refreshed.data.session?.refresh_token).not.toBe(first?.refresh_token);

    const { data, error } = await supabase.auth.getUser(refreshed.data.session?.access_token);
    expect(error).toBeNull();
    expect(data.user?.id).toBe(signUp.data.user?.id);

    // The used refresh token no longer works: rotation.
    const reused = await client(server, anonKey).auth.refreshSession({
      refresh_token: first?.refresh_token ?? '',
    });
    expect(reused.error?.status).toBe(401);
    expect(reused.error?.code).toBe('refresh_token_already_used');

    const signOut = await supabase.auth.signOut();
    expect(signOut.error).toBeNull();
    // After sign-out (scope global) the still-unexpired access token and the refresh token are refused.
    const afterOut = await fetch(`${server.url}/auth/v1/user`, {
      headers: { authorization: `Bearer ${refreshed.data.session?.access_token}` },
    });
    expect(afterOut.status).toBe(401);
    expect(await afterOut.json()).toMatchObject({ error_code: 'session_not_found' });
    const revokedRefresh = await client(server, anonKey).auth.refreshSession({
      refresh_token: refreshed.data.session?.refresh_token ?? '',
    });
    expect(revokedRefresh.error?.status).toBe(401);
  });

  it('signs up and in with a phone number and password', async () => {
    const supabase = client(server, anonKey);
    const signUp = await supabase.auth.signUp({ phone: '+254 700 123 456', password: 'a long passphrase' });
    expect(signUp.error).toBeNull();
    expect(signUp.data.user?.phone).toBe('+254700123456');
    const signIn = await supabase.auth.signInWithPassword({
      phone: '+254700123456',
      password: 'a long passphrase',
    });
    expect(signIn.error).toBeNull();
    expect(signIn.data.user?.id).toBe(signUp.data.user?.id);
  });

  it('[AU2] refuses a wrong password with 401 and writes nothing', async () => {
    const supabase = client(server, anonKey);
    await supabase.auth.signUp({ email: 'kofi@example.org', password: 'kofis passphrase' });
    const before = await rowCounts(database().db);
    const wrong = await supabase.auth.signInWithPassword({
      email: 'kofi@example.org',
      password: 'not kofis passphrase',
    });
    expect(wrong.error?.status).toBe(401);
    expect(wrong.error?.code).toBe('invalid_credentials');
    const nobody = await supabase.auth.signInWithPassword({
      email: 'nobody@example.org',
      password: 'whatever123',
    });
    expect(nobody.error?.status).toBe(401);
    expect(nobody.error?.message).toBe(wrong.error?.message);
    expect(await rowCounts(database().db)).toEqual(before);
  });

  it('[AU2] refuses a second account for the same email, and a weak password, writing nothing', async () => {
    const supabase = client(server, anonKey);
    await supabase.auth.signUp({ email: 'esi@example.org', password: 'esis passphrase' });
    const before = await rowCounts(database().db);
    const again = await supabase.auth.signUp({ email: 'ESI@example.org', password: 'another passphrase' });
    expect(again.error?.status).toBe(422);
    expect(again.error?.code).toBe('user_already_exists');
    const weak = await supabase.auth.signUp({ email: 'yaw@example.org', password: 'short' });
    expect(weak.error?.status).toBe(422);
    expect(weak.error?.code).toBe('weak_password');
    expect(await rowCounts(database().db)).toEqual(before);
  });

  it('[AU3] refuses expired, forged and malformed access tokens with a 401 JSON error', async () => {
    const supabase = client(server, anonKey);
    const { data } = await supabase.auth.signUp({
      email: 'abena@example.org',
      password: 'abenas passphrase',
    });
    const real = decodeJwt(data.session?.access_token ?? '');
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ ...real, iat: past, exp: past + 900 })
      .setProtectedHeader({ alg: 'ES256', kid: server.key.kid })
      .sign(server.key.privateKey);
    const otherKey = await generateSigningKey();
    const forged = await new SignJWT(real)
      .setProtectedHeader({ alg: 'ES256', kid: server.key.kid })
      .sign(otherKey.privateKey);
    const cases: Array<[string, string, string]> = [
      ['expired', `Bearer ${expired}`, 'token_expired'],
      ['forged', `Bearer ${forged}`, 'bad_jwt'],
      ['malformed', 'Bearer not.a.jwt', 'bad_jwt'],
      ['missing', '', 'no_authorization'],
    ];
    for (const [, authorization, code] of cases) {
      const response = await fetch(`${server.url}/auth/v1/user`, {
        headers: authorization ? { authorization } : {},
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error_code: code, message: expect.any(String) });
    }
    const viaClient = await supabase.auth.getUser(forged);
    expect(viaClient.error?.status).toBe(401);
  });

  it('serves its public signing key as a JWKS that verifies its tokens', async () => {
    const jwks = (await (await fetch(`${server.url}/auth/v1/.well-known/jwks.json`)).json()) as {
      keys: unknown[];
    };
    expect(jwks.keys).toEqual([
      expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: server.key.kid }),
    ]);
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });
});
