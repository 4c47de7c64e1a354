import { count } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { activityLogs, userSessions, users } from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { startEmbeddedApp, type RunningApp } from '../../test/test-app.ts';
import type { Db } from '../db/database.ts';

async function snapshot(db: Db) {
  return {
    users: await db.select().from(users).orderBy(users.id),
    sessions: (await db.select({ n: count() }).from(userSessions))[0]?.n,
    audit: (await db.select({ n: count() }).from(activityLogs))[0]?.n,
  };
}

function send(
  app: FastifyInstance,
  method: 'POST' | 'PATCH',
  url: string,
  payload: string,
  headers: Record<string, string> = {},
) {
  return app.inject({ method, url, payload, headers: { 'content-type': 'application/json', ...headers } });
}

describeOnEachDatabase('bad input gets a clear 4xx and writes nothing', (database) => {
  let server: RunningApp;
  let token: string;
  beforeAll(async () => {
    server = await startEmbeddedApp(database(), { bodyLimit: 16 * 1024 });
    const credentials = JSON.stringify({ email: 'n@example.org', password: 'nanas passphrase' });
    await send(server.app, 'POST', '/auth/v1/signup', credentials);
    // Sign-up answers the user without a session (SE45); the session comes from signing in.
    const signIn = await send(server.app, 'POST', '/auth/v1/token?grant_type=password', credentials);
    token = signIn.json<{ access_token: string }>().access_token;
  });
  afterAll(() => server.app.close());

  const cases: Array<{
    name: string;
    method: 'POST' | 'PATCH';
    url: string;
    body: string;
    headers?: Record<string, string>;
    status: number;
    code: string;
    mentions: RegExp;
  }> = [
    {
      name: 'malformed JSON',
      method: 'POST',
      url: '/auth/v1/signup',
      body: '{"email": "x@example.org", "password": ',
      status: 400,
      code: 'malformed_json',
      mentions: /not valid JSON/,
    },
    {
      name: 'wrong type',
      method: 'POST',
      url: '/auth/v1/signup',
      body: JSON.stringify({ email: 42, password: 'long enough pw' }),
      status: 400,
      code: 'validation_failed',
      mentions: /body\.email/,
    },
    {
      name: 'bad email',
      method: 'POST',
      url: '/auth/v1/signup',
      body: JSON.stringify({ email: 'not-an-email', password: 'long enough pw' }),
      status: 400,
      code: 'validation_failed',
      mentions: /body\.email/,
    },
    {
      name: 'both email and phone',
      method: 'POST',
      url: '/auth/v1/signup',
      body: JSON.stringify({ email: 'y@example.org', phone: '+447700900000', password: 'long enough pw' }),
      status: 400,
      code: 'validation_failed',
      mentions: /either email or phone/,
    },
    {
      name: 'phone not E.164',
      method: 'POST',
      url: '/auth/v1/signup',
      body: JSON.stringify({ phone: '0700 123', password: 'long enough pw' }),
      status: 400,
      code: 'validation_failed',
      mentions: /body\.phone.*E\.164/,
    },
    {
      name: 'unknown grant',
      method: 'POST',
      url: '/auth/v1/token?grant_type=magic',
      body: '{}',
      status: 400,
      code: 'validation_failed',
      mentions: /query\.grant_type/,
    },
    {
      name: 'oversized body',
      method: 'POST',
      url: '/auth/v1/signup',
      body: JSON.stringify({
        email: 'z@example.org',
        password: 'long enough pw',
        data: { blob: 'x'.repeat(20_000) },
      }),
      status: 413,
      code: 'body_too_large',
      mentions: /too large/i,
    },
    {
      name: 'wrong content type',
      method: 'POST',
      url: '/auth/v1/signup',
      body: 'email=z@example.org',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: 415,
      code: 'unsupported_media_type',
      mentions: /content-type/i,
    },
    {
      name: 'unknown profile field',
      method: 'PATCH',
      url: '/api/v1/me',
      body: JSON.stringify({ display_name: 'Nana', is_admin: true }),
      status: 400,
      code: 'validation_failed',
      mentions: /is_admin/,
    },
    {
      name: 'bad time zone',
      method: 'PATCH',
      url: '/api/v1/me',
      body: JSON.stringify({ time_zone: 'Mars/Olympus' }),
      status: 400,
      code: 'validation_failed',
      mentions: /body\.time_zone/,
    },
    {
      name: 'profile body not an object',
      method: 'PATCH',
      url: '/api/v1/me',
      body: '[1,2]',
      status: 400,
      code: 'validation_failed',
      mentions: /body/,
    },
    {
      name: 'no token',
      method: 'PATCH',
      url: '/api/v1/me',
      body: JSON.stringify({ display_name: 'Nana' }),
      headers: { authorization: '' },
      status: 401,
      code: 'no_authorization',
      mentions: /Bearer/,
    },
  ];

  for (const c of cases) {
    it(`[HT1][HT2] ${c.name} → ${c.status} ${c.code}`, async () => {
      const before = await snapshot(database().db);
      const response = await send(server.app, c.method, c.url, c.body, {
        authorization: `Bearer ${token}`,
        ...c.headers,
      });
      expect(response.statusCode).toBe(c.status);
      const body = response.json<{ error_code: string; message: string }>();
      expect(body.error_code).toBe(c.code);
      expect(body.message).toMatch(c.mentions);
      expect(await snapshot(database().db)).toEqual(before);
    });
  }

  it('[HT2] an unknown API route is a JSON 404, not the web app', async () => {
    const response = await server.app.inject({
      method: 'GET',
      url: '/api/v1/nope',
      headers: { accept: 'text/html' },
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error_code: 'not_found' });
  });

  it('a valid profile update is applied and read back', async () => {
    const patched = await send(
      server.app,
      'PATCH',
      '/api/v1/me',
      JSON.stringify({ display_name: 'Nana', time_zone: 'Africa/Accra', emergency_number: '112' }),
      { authorization: `Bearer ${token}` },
    );
    expect(patched.statusCode).toBe(200);
    const me = await server.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.json()).toMatchObject({
      email: 'n@example.org',
      display_name: 'Nana',
      time_zone: 'Africa/Accra',
      emergency_number: '112',
    });
  });
});

describeOnEachDatabase('health and runtime configuration', (database, kind) => {
  let server: RunningApp;
  beforeAll(async () => {
    server = await startEmbeddedApp(database());
  });
  afterAll(() => server.app.close());

  it(`GET /healthz names the database (${kind}) and the version`, async () => {
    const response = await server.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ok',
      db: kind,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
  });

  it('[CL15] HEAD /sync/ping answers 204 with no body and asks for no token', async () => {
    const response = await server.app.inject({ method: 'HEAD', url: '/sync/ping' });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
  });

  it('GET /config.json points supabase-js at our own auth with a public key of ours', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/config.json' });
    expect(response.json()).toMatchObject({
      supabaseUrl: server.url,
      authProvider: 'embedded',
      supabaseAnonKey: expect.stringMatching(/^ey/),
    });
  });
});
