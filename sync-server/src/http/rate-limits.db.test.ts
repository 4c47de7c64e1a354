import { count, eq } from 'drizzle-orm';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { emergencyIncidents, userSessions, users } from '@vitalwatch/schema/db/tables';
import { newId } from '@vitalwatch/schema/ids';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { startEmbeddedApp, type RunningApp } from '../../test/test-app.ts';
import { mutation, pushBody, responseJson } from '../../test/sync-test-kit.ts';
import type { HttpLimits } from './http-limits.ts';

const PASSWORD = 'the owner’s long passphrase';

/** Small limits, so each can be reached in a few requests. */
const LIMITS: HttpLimits = {
  signInPerAddressPerMinute: 1_000,
  signInFreeFailures: 2,
  signInMaxDelaySeconds: 4,
  signUpPerAddressPerHour: 2,
  userRequestsPerMinute: 6,
  publicRequestsPerAddressPerMinute: 5,
  webhookRequestsPerAddressPerMinute: 5,
};

/** Each sign-in that reaches the password check costs a scrypt (~0.1 s idle, seconds on a loaded machine). */
const SIGN_IN_TEST_TIMEOUT_MS = 240_000;

let addresses = 0;
/** A fresh client address (TEST-NET-3), so each test starts with empty per-address counters. */
function address(): string {
  addresses += 1;
  return `203.0.113.${addresses}`;
}

function json(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  from: string,
  body?: unknown,
  token?: string,
) {
  return app.inject({
    method,
    url,
    remoteAddress: from,
    headers: {
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(token !== undefined && { authorization: `Bearer ${token}` }),
    },
    ...(body !== undefined && { payload: JSON.stringify(body) }),
  });
}

/** 429 `rate_limited` with a Retry-After in whole seconds, repeated in the body, and a message that says so. */
function expectRateLimited(response: LightMyRequestResponse, message: RegExp): number {
  expect(response.statusCode).toBe(429);
  const body = response.json<{ error_code: string; message: string; retry_after_seconds: number }>();
  expect(body.error_code).toBe('rate_limited');
  expect(body.message).toMatch(message);
  expect(body.message).toMatch(/Try again in \d+ (s|minutes)\./);
  const seconds = Number(response.headers['retry-after']);
  expect(Number.isInteger(seconds) && seconds >= 1).toBe(true);
  expect(body.retry_after_seconds).toBe(seconds);
  return seconds;
}

describeOnEachDatabase('request limits and sign-in delays', (database) => {
  const clock = { ms: Date.now() };
  let server: RunningApp;
  let app: FastifyInstance;

  const signIn = (email: string, password: string, from: string) =>
    json(app, 'POST', '/auth/v1/token?grant_type=password', from, { email, password });
  /** A new account and its first session: sign-up answers no session (SE45), so the app signs in next. */
  async function signUp(email: string, from = address()) {
    const response = await json(app, 'POST', '/auth/v1/signup', from, { email, password: PASSWORD });
    expect(response.statusCode).toBe(200);
    const session = await signIn(email, PASSWORD, from);
    expect(session.statusCode).toBe(200);
    return session.json<{ access_token: string; user: { id: string } }>();
  }

  beforeAll(async () => {
    server = await startEmbeddedApp(database(), { now: () => new Date(clock.ms), limits: LIMITS });
    app = server.app;
  });
  afterAll(() => server.app.close());

  it('[SE30] sign-ups are limited per address: the third in an hour gets 429 with Retry-After and nothing is written', async () => {
    const from = address();
    await signUp(`first-${newId()}@example.org`, from);
    await signUp(`second-${newId()}@example.org`, from);
    const before = await database().db.select({ n: count() }).from(users);
    const third = await json(app, 'POST', '/auth/v1/signup', from, {
      email: `third-${newId()}@example.org`,
      password: PASSWORD,
    });
    const seconds = expectRateLimited(third, /Too many new accounts from this network/);
    expect(seconds).toBeLessThanOrEqual(3600);
    expect(await database().db.select({ n: count() }).from(users)).toEqual(before);
    // Another network is not affected.
    await signUp(`elsewhere-${newId()}@example.org`);
  });

  it('[SE30] other API routes are limited per address; the web app, /healthz and the upload ping are not', async () => {
    const from = address();
    for (let i = 0; i < LIMITS.publicRequestsPerAddressPerMinute; i++) {
      expect((await json(app, 'GET', '/config.json', from)).statusCode).toBe(200);
    }
    expectRateLimited(await json(app, 'GET', '/config.json', from), /Too many requests from this network/);
    expectRateLimited(
      await json(app, 'GET', '/auth/v1/.well-known/jwks.json', from),
      /Too many requests from this network/,
    );
    expect((await json(app, 'GET', '/config.json', address())).statusCode).toBe(200);
    for (let i = 0; i < 3 * LIMITS.publicRequestsPerAddressPerMinute; i++) {
      expect((await json(app, 'GET', '/healthz', from)).statusCode).toBe(200);
    }
  });

  it('[SE30] routes that need a token are limited per user, not per address; bad tokens count against the address', async () => {
    const from = address();
    const alice = await signUp(`alice-${newId()}@example.org`);
    const bob = await signUp(`bob-${newId()}@example.org`);
    for (let i = 0; i < LIMITS.userRequestsPerMinute; i++) {
      expect((await json(app, 'GET', '/api/v1/me', from, undefined, alice.access_token)).statusCode).toBe(
        200,
      );
    }
    const refused = await json(app, 'PATCH', '/api/v1/me', from, { display_name: 'A' }, alice.access_token);
    expectRateLimited(refused, /Too many requests for this account/);
    // Same address, another account: its own count.
    expect((await json(app, 'GET', '/api/v1/me', from, undefined, bob.access_token)).statusCode).toBe(200);

    const guesser = address();
    for (let i = 0; i < LIMITS.publicRequestsPerAddressPerMinute; i++) {
      const response = await json(app, 'GET', '/api/v1/me', guesser, undefined, `not-a-token-${i}`);
      expect(response.statusCode).toBe(401);
    }
    expectRateLimited(
      await json(app, 'GET', '/api/v1/me', guesser, undefined, bob.access_token),
      /Too many requests from this network/,
    );
  });

  it(
    '[SE32] failed sign-ins make that address wait longer and longer, without checking the password meanwhile; a success clears it',
    async () => {
      const email = `guessed-${newId()}@example.org`;
      await signUp(email);
      const attacker = address();
      for (let i = 0; i < LIMITS.signInFreeFailures; i++) {
        expect((await signIn(email, `wrong ${i}`, attacker)).statusCode).toBe(401);
      }
      // Each further failure doubles the wait: 1 s, 2 s, then the 4 s cap.
      const waits: number[] = [];
      for (let i = 0; i < 4; i++) {
        expect((await signIn(email, `still wrong ${i}`, attacker)).statusCode).toBe(401);
        const locked = await signIn(email, PASSWORD, attacker);
        const seconds = expectRateLimited(locked, /Too many failed sign-ins for this account/);
        waits.push(seconds);
        clock.ms += seconds * 1000;
      }
      expect(waits).toEqual([1, 2, 4, 4]);

      // While it waits, even the right password is not checked and no session starts.
      expect((await signIn(email, 'wrong again', attacker)).statusCode).toBe(401);
      const sessions = await database().db.select({ n: count() }).from(userSessions);
      expectRateLimited(await signIn(email, PASSWORD, attacker), /failed sign-ins/);
      expect(await database().db.select({ n: count() }).from(userSessions)).toEqual(sessions);

      // The owner on another network signs in at once.
      expect((await signIn(email, PASSWORD, address())).statusCode).toBe(200);
      // After the wait the right password works, and clears this address's count.
      clock.ms += LIMITS.signInMaxDelaySeconds * 1000;
      expect((await signIn(email, PASSWORD, attacker)).statusCode).toBe(200);
      expect((await signIn(email, 'one slip', attacker)).statusCode).toBe(401);
      expect((await signIn(email, PASSWORD, attacker)).statusCode).toBe(200);
    },
    SIGN_IN_TEST_TIMEOUT_MS,
  );

  it(
    '[SE32] guesses spread over many addresses lock the account for new addresses, never for one the owner signed in from',
    async () => {
      const email = `spread-${newId()}@example.org`;
      await signUp(email);
      const ownersPhone = address();
      expect((await signIn(email, PASSWORD, ownersPhone)).statusCode).toBe(200);
      // 4 × the free failures, one from each address: no address is locked by itself.
      for (let i = 0; i < 4 * LIMITS.signInFreeFailures + 1; i++) {
        expect((await signIn(email, `botnet ${i}`, address())).statusCode).toBe(401);
      }
      expectRateLimited(await signIn(email, PASSWORD, address()), /Too many failed sign-ins/);
      expect((await signIn(email, PASSWORD, ownersPhone)).statusCode).toBe(200);
      // The account-wide wait is bounded too: the owner on a new network gets in after it.
      clock.ms += LIMITS.signInMaxDelaySeconds * 1000;
      expect((await signIn(email, PASSWORD, address())).statusCode).toBe(200);
    },
    SIGN_IN_TEST_TIMEOUT_MS,
  );

  it(
    '[SE33] an SOS push commits while the account is brute-forced, its per-user limit is spent and its address is over its limit',
    async () => {
      const email = `sos-${newId()}@example.org`;
      const owner = await signUp(email);
      const token = owner.access_token;
      const attacker = address();
      for (let i = 0; i < LIMITS.signInFreeFailures + 1; i++) await signIn(email, `guess ${i}`, attacker);
      expectRateLimited(await signIn(email, 'guess', attacker), /failed sign-ins/);

      const phone = address();
      for (let i = 0; i < LIMITS.userRequestsPerMinute; i++)
        await json(app, 'GET', '/api/v1/me', phone, undefined, token);
      expectRateLimited(await json(app, 'GET', '/api/v1/me', phone, undefined, token), /for this account/);
      const clientId = newId();
      const userPush = await json(app, 'POST', '/sync/push', phone, pushBody(clientId, 'user', []), token);
      expectRateLimited(userPush, /for this account/);
      // Strangers at the phone's address (a carrier's NAT) spend the address's limit with bad tokens.
      for (let i = 0; i < LIMITS.publicRequestsPerAddressPerMinute; i++) {
        await json(app, 'POST', '/sync/pull', phone, {}, `stolen-${i}`);
      }
      expectRateLimited(await json(app, 'GET', '/config.json', phone), /from this network/);

      for (let seq = 1; seq <= 3; seq++) {
        const incidentId = newId();
        const sos = await json(
          app,
          'POST',
          '/sync/push',
          phone,
          pushBody(clientId, 'critical', [
            mutation(seq, 'incident.trigger@1', {
              id: incidentId,
              code: `SOS${seq}`,
              trigger: 'panic_button',
              triggeredAt: Date.now(),
            }),
          ]),
          token,
        );
        expect(sos.statusCode).toBe(200);
        expect(responseJson(sos)).toMatchObject({ results: [{ seq, status: 'ok' }] });
        const [row] = await database()
          .db.select({ status: emergencyIncidents.status })
          .from(emergencyIncidents)
          .where(eq(emergencyIncidents.id, incidentId));
        expect(row?.status).toBe('active');
      }
    },
    SIGN_IN_TEST_TIMEOUT_MS,
  );
});
