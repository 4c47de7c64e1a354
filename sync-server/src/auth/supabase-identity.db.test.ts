import { eq } from 'drizzle-orm';
import { SignJWT, decodeJwt } from 'jose';
import { expect, it } from 'vitest';
import { userSettings, users } from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { useSupabaseStandIn } from '../../test/test-app.ts';
import { generateSigningKey } from './signing-key.ts';

// "Supabase" here is a second VitalWatch server running the embedded provider: it serves the same
// /auth/v1 endpoints and JWKS as Supabase Auth, so the verifying server runs unchanged, with no mock.
describeOnEachDatabase(
  'with SUPABASE_URL set, tokens are verified against Supabase Auth’s JWKS',
  (database, kind) => {
    const servers = useSupabaseStandIn(database, kind);

    it('accepts a Supabase access token and creates the user’s rows on first sight', async () => {
      const payload = { email: 'kwame@example.org', password: 'kwames passphrase' };
      await servers.supabase.app.inject({ method: 'POST', url: '/auth/v1/signup', payload });
      const signIn = await servers.supabase.app.inject({
        method: 'POST',
        url: '/auth/v1/token?grant_type=password',
        payload,
      });
      const { access_token } = signIn.json<{ access_token: string }>();
      const sub = decodeJwt(access_token).sub ?? '';
      const me = await servers.app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer ${access_token}` },
      });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ id: sub, email: 'kwame@example.org' });
      expect(await database().db.select().from(users).where(eq(users.id, sub))).toHaveLength(1);
      expect(
        await database().db.select().from(userSettings).where(eq(userSettings.userId, sub)),
      ).toHaveLength(1);
    });

    it('[AU3] refuses a token not signed by Supabase, and one for another issuer', async () => {
      const other = await generateSigningKey();
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        sub: '01a20f56-6480-76f5-8a94-c9cece4ec308',
        role: 'authenticated',
        email: 'x@example.org',
      };
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: servers.supabase.key.kid })
        .setIssuer(`${servers.supabase.url}/auth/v1`)
        .setAudience('authenticated')
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(other.privateKey);
      const wrongIssuer = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: servers.supabase.key.kid })
        .setIssuer('https://evil.example/auth/v1')
        .setAudience('authenticated')
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(servers.supabase.key.privateKey);
      for (const token of [forged, wrongIssuer]) {
        const me = await servers.app.inject({
          method: 'GET',
          url: '/api/v1/me',
          headers: { authorization: `Bearer ${token}` },
        });
        expect(me.statusCode).toBe(401);
        expect(me.json()).toMatchObject({ error_code: 'bad_jwt' });
      }
      expect(await database().db.select().from(users).where(eq(users.id, claims.sub))).toHaveLength(0);
    });

    it('does not serve the embedded auth endpoints, and tells the web app to use Supabase', async () => {
      const signUp = await servers.app.inject({
        method: 'POST',
        url: '/auth/v1/signup',
        payload: { email: 'a@example.org', password: 'x'.repeat(10) },
      });
      expect(signUp.statusCode).toBe(404);
      const config = await servers.app.inject({ method: 'GET', url: '/config.json' });
      expect(config.json()).toEqual({
        supabaseUrl: servers.supabase.url,
        supabaseAnonKey: 'the-supabase-anon-key',
        authProvider: 'supabase',
        // No alert delivery configured in this test: nothing to promise (SPEC SO42).
        channels: { sms: false, webPush: false, realtime: false },
      });
    });
  },
);
