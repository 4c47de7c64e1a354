import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type AppDeps } from '../app.ts';
import { generateSigningKey } from '../auth/signing-key.ts';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { UNTHROTTLED_HTTP_LIMITS } from '../../test/unthrottled-limits.ts';

/** The CSP's directives by name. */
function directives(header: string | string[] | number | undefined): Map<string, string[]> {
  return new Map(
    String(header)
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0] !== '')
      .map(([name = '', ...values]) => [name, values]),
  );
}

describeOnEachDatabase('security headers', (database) => {
  let webDist: string;
  const apps: FastifyInstance[] = [];

  async function app(overrides: Partial<AppDeps> = {}): Promise<FastifyInstance> {
    const key = await generateSigningKey();
    const built = await buildApp({
      db: database().db,
      dbKind: database().kind,
      auth: {
        kind: 'embedded',
        key,
        issuer: 'http://localhost/auth/v1',
        accessTokenTtlSeconds: 900,
        sessionTtlDays: 30,
      },
      publicUrl: null,
      webDist,
      limits: UNTHROTTLED_HTTP_LIMITS,
      alerts: {
        sms: null,
        twilioWebhooks: null,
        webPush: null,
        vapidPublicKey: null,
        supabaseRealtime: null,
        autoStart: false,
      },
      ...overrides,
    });
    apps.push(built);
    return built;
  }

  beforeAll(async () => {
    webDist = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-web-'));
    await fs.writeFile(path.join(webDist, 'index.html'), '<!doctype html><title>VitalWatch</title>');
  });
  afterAll(async () => {
    for (const built of apps) await built.close();
    await fs.rm(webDist, { recursive: true, force: true });
  });

  it('[SE35] the app is served with a CSP that allows only its own origin, no framing, no referrer and no HSTS over http', async () => {
    const server = await app({ publicUrl: 'http://192.168.1.20:8787' });
    for (const response of [
      await server.inject({ method: 'GET', url: '/' }),
      await server.inject({ method: 'GET', url: '/settings', headers: { accept: 'text/html' } }),
      await server.inject({ method: 'GET', url: '/config.json' }),
    ]) {
      const csp = directives(response.headers['content-security-policy']);
      expect(csp.get('default-src')).toEqual(["'self'"]);
      expect(csp.get('script-src')).toEqual(["'self'"]);
      expect(csp.get('style-src')).toEqual(["'self'"]);
      expect(csp.get('connect-src')).toEqual(["'self'", 'http://192.168.1.20:8787']);
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
      expect(csp.get('object-src')).toEqual(["'none'"]);
      expect(csp.has('upgrade-insecure-requests')).toBe(false);
      expect(String(response.headers['content-security-policy'])).not.toMatch(/unsafe|data:|blob:|\*/);
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['strict-transport-security']).toBeUndefined();
    }
  });

  it("[SE35][AU7] the sync routes, read only by the app's code, carry no page headers, so an idle check-in stays small", async () => {
    const server = await app({ publicUrl: 'http://192.168.1.20:8787' });
    const ping = await server.inject({ method: 'HEAD', url: '/sync/ping' });
    const pull = await server.inject({ method: 'POST', url: '/sync/pull', payload: {} });
    expect(pull.statusCode).toBe(401);
    for (const response of [ping, pull]) {
      expect(response.headers['content-security-policy']).toBeUndefined();
      expect(response.headers['cross-origin-opener-policy']).toBeUndefined();
    }
  });

  it('[SE35] with an https PUBLIC_URL and Supabase: HSTS, upgrade-insecure-requests, and Supabase in connect-src', async () => {
    const server = await app({
      publicUrl: 'https://vw.example.org',
      auth: { kind: 'supabase', url: 'https://abcd.supabase.co', anonKey: 'anon' },
    });
    const response = await server.inject({ method: 'GET', url: '/' });
    expect(response.headers['strict-transport-security']).toBe('max-age=31536000');
    const csp = directives(response.headers['content-security-policy']);
    expect(csp.get('connect-src')).toEqual(["'self'", 'https://vw.example.org', 'https://abcd.supabase.co']);
    expect(csp.get('upgrade-insecure-requests')).toEqual([]);
  });

  it('[SE35] a route’s own CSP wins over the global one (the alert page keeps its own, framing stays denied)', async () => {
    const server = await app();
    const page = await server.inject({ method: 'GET', url: '/a/not-a-real-token' });
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    );
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-frame-options']).toBe('DENY');
  });
});
