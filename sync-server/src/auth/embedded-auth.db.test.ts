import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { count, sql } from 'drizzle-orm';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { activityLogs, userSessions, users } from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { startEmbeddedApp, type RunningApp } from '../../test/test-app.ts';
import type { Db } from '../db/database.ts';
import { MAX_USER_METADATA_BYTES, MAX_USER_METADATA_KEYS } from './embedded-auth-routes.ts';
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

  it('[AU1][AU3][AU4][SE45] signs up (confirmed at once, without a session), signs in, refreshes, reads the user and signs out', async () => {
    const supabase = client(server, anonKey);
    const signUp = await supabase.auth.signUp({
      email: 'ama@example.org',
      password: 'correct horse battery',
    });
    expect(signUp.error).toBeNull();
    expect(signUp.data.session).toBeNull();
    expect(signUp.data.user?.email).toBe('ama@example.org');
    expect(signUp.data.user?.email_confirmed_at).toBeTruthy();

    const signIn = await supabase.auth.signInWithPassword({
      email: 'AMA@example.org',
      password: 'correct horse battery',
    });
    expect(signIn.error).toBeNull();
    const first = signIn.data.session;
    expect(first?.user.id).toBe(signUp.data.user?.id);
    const claims = decodeJwt(first?.access_token ?? '');
    expect(claims).toMatchObject({
      sub: signUp.data.user?.id,
      role: 'authenticated',
      aud: 'authenticated',
      iss: server.issuer,
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(900);

    const refreshed = await supabase.auth.refreshSession({ refresh_token: first?.refresh_token ?? '' });
    expect(refreshed.error).toBeNull();
    expect(refreshed.data.session?.refresh_token).not.toBe(first?.refresh_token);

    const { data, error } = await supabase.auth.getUser(refreshed.data.session?.access_token);
    expect(error).toBeNull();
    expect(data.user?.id).toBe(signUp.data.user?.id);

    // Presenting the used one again: session-ends.db.test.ts (SE40, SE41), with a clock the test moves.

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
    expect(signUp.data.session).toBeNull();
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

  it('[AU2][SE45] a second sign-up for a taken email or phone gets the answer a new account gets and changes nothing', async () => {
    const supabase = client(server, anonKey);
    const signUpRaw = (body: Record<string, string>) =>
      fetch(`${server.url}/auth/v1/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', apikey: anonKey },
        body: JSON.stringify(body),
      });
    /** The answer with what must differ between two accounts (id, address, times) blanked. */
    const shape = async (response: Response) => {
      const body = (await response.json()) as Record<string, unknown>;
      const times = ['email_confirmed_at', 'phone_confirmed_at', 'confirmed_at', 'created_at', 'updated_at'];
      const blank = Object.fromEntries(
        Object.entries(body).map(([k, v]) => [
          k,
          k === 'id' || k === 'email' || k === 'phone' || (times.includes(k) && v !== null) ? typeof v : v,
        ]),
      );
      return { status: response.status, type: response.headers.get('content-type'), body: blank };
    };
    const fresh = await signUpRaw({ email: 'esi@example.org', password: 'esis passphrase' });
    const freshPhone = await signUpRaw({ phone: '+254700654321', password: 'esis passphrase' });
    const before = await rowCounts(database().db);
    const [users0] = await database()
      .db.select()
      .from(users)
      .where(sql`email = 'esi@example.org'`);

    const again = await signUpRaw({ email: 'ESI@example.org', password: 'another passphrase' });
    const againPhone = await signUpRaw({ phone: '+254 700 654 321', password: 'another passphrase' });
    const other = await signUpRaw({ email: 'efua@example.org', password: 'efuas passphrase' });
    const freshShape = await shape(fresh);
    expect(freshShape.status).toBe(200);
    expect(await shape(again)).toEqual(freshShape);
    expect(await shape(other)).toEqual(freshShape);
    expect(await shape(againPhone)).toEqual(await shape(freshPhone));
    // Nothing changed for the owner: the same row, no session, no audit entry; their own password still works.
    // Efua's is the one new account, with its one audit entry.
    expect(await rowCounts(database().db)).toEqual({
      users: (before.users ?? 0) + 1,
      sessions: before.sessions,
      audit: (before.audit ?? 0) + 1,
    });
    expect(
      await database()
        .db.select()
        .from(users)
        .where(sql`email = 'esi@example.org'`),
    ).toEqual([users0]);
    const owner = await supabase.auth.signInWithPassword({
      email: 'esi@example.org',
      password: 'esis passphrase',
    });
    expect(owner.error).toBeNull();
    // Whoever signed up again cannot sign in with the password they chose.
    const taker = await supabase.auth.signInWithPassword({
      email: 'esi@example.org',
      password: 'another passphrase',
    });
    expect(taker.error?.code).toBe('invalid_credentials');
  });

  it('[AU2] refuses a weak password, writing nothing', async () => {
    const supabase = client(server, anonKey);
    const before = await rowCounts(database().db);
    const weak = await supabase.auth.signUp({ email: 'yaw@example.org', password: 'short' });
    expect(weak.error?.status).toBe(422);
    expect(weak.error?.code).toBe('weak_password');
    expect(await rowCounts(database().db)).toEqual(before);
  });

  it('[AU3] refuses expired, forged and malformed access tokens with a 401 JSON error', async () => {
    const supabase = client(server, anonKey);
    await supabase.auth.signUp({ email: 'abena@example.org', password: 'abenas passphrase' });
    const { data } = await supabase.auth.signInWithPassword({
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

  it('[SE46] refuses sign-up metadata over 1 KiB or 16 keys with a 400 naming it; the largest allowed token fits a header', async () => {
    const signUpWith = (email: string, data: unknown) =>
      fetch(`${server.url}/auth/v1/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'a long passphrase', data }),
      });
    const before = await rowCounts(database().db);
    const tooBig = await signUpWith('big@example.org', { bio: 'x'.repeat(MAX_USER_METADATA_BYTES) });
    expect(tooBig.status).toBe(400);
    expect(await tooBig.json()).toMatchObject({
      error_code: 'validation_failed',
      message: expect.stringMatching(/body\.data.*larger than 1024 bytes/),
    });
    // Bytes, not characters: 400 three-byte characters are 1,200 bytes.
    expect((await signUpWith('wide@example.org', { name: '€'.repeat(400) })).status).toBe(400);
    const manyKeys = Object.fromEntries(
      Array.from({ length: MAX_USER_METADATA_KEYS + 1 }, (_, i) => [`k${i}`, 1]),
    );
    const tooMany = await signUpWith('keys@example.org', manyKeys);
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ message: expect.stringMatching(/at most 16 keys/) });
    expect(await rowCounts(database().db)).toEqual(before);

    // The worst an account can carry: the longest email and 16 keys filling 1 KiB of JSON, with characters that
    // JSON escapes (a quote takes two bytes, so it counts double against the limit).
    const email = `${'e'.repeat(64)}@${['a', 'b', 'c', 'd'].map((c) => c.repeat(63)).join('.')}`;
    expect(email).toHaveLength(320);
    const largest: Record<string, string> = {};
    for (let i = 0; i < MAX_USER_METADATA_KEYS; i++) largest[`key${i}`] = '';
    const room = MAX_USER_METADATA_BYTES - Buffer.byteLength(JSON.stringify(largest));
    largest.key0 = '"'.repeat(Math.floor(room / 2));
    expect(Buffer.byteLength(JSON.stringify(largest))).toBeGreaterThan(MAX_USER_METADATA_BYTES - 2);
    expect((await signUpWith(email, largest)).status).toBe(200);
    const signIn = await client(server, anonKey).auth.signInWithPassword({
      email,
      password: 'a long passphrase',
    });
    expect(signIn.error).toBeNull();
    const header = `Authorization: Bearer ${signIn.data.session?.access_token}`;
    // Measured: ~2.8 kB. Common limits are 8 KiB for all the headers (nginx, Node's 16 KiB).
    expect(header.length).toBeLessThan(4096);
    const me = await fetch(`${server.url}/auth/v1/user`, {
      headers: { authorization: `Bearer ${signIn.data.session?.access_token}` },
    });
    expect(me.status).toBe(200);
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
