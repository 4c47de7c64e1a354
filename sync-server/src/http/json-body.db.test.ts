import { count } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mutationErrors, users } from '@vitalwatch/schema/db/tables';
import { newId } from '@vitalwatch/schema/ids';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { startEmbeddedApp, type RunningApp } from '../../test/test-app.ts';
import { pushBody, rawMutation, signUp, type TestUser } from '../../test/sync-test-kit.ts';
import { MAX_JSON_DEPTH, parseJsonBody } from './http-error.ts';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

function send(app: FastifyInstance, url: string, payload: string, token?: string) {
  return app.inject({
    method: 'POST',
    url,
    payload,
    headers: {
      'content-type': 'application/json',
      ...(token !== undefined && { authorization: `Bearer ${token}` }),
    },
  });
}

it('[HT3] the depth check counts brackets, not brackets inside strings', () => {
  expect(parseJsonBody(`{"a":${nested(MAX_JSON_DEPTH - 1)}}`)).toBeDefined();
  expect(parseJsonBody(JSON.stringify({ text: '[[[['.repeat(100), quote: '"\\"[' }))).toBeDefined();
  expect(() => parseJsonBody(`{"a":${nested(MAX_JSON_DEPTH)}}`)).toThrow(/deeper than 32/);
});

it('[HT3] the depth check ends each string at its first quote not escaped, however many backslashes precede it', () => {
  // A string ending in an escaped backslash (`\\"` closes it) is followed by real nesting, which counts.
  const afterBackslashes = (depth: number) => `{"a":"x\\\\","b":${nested(depth)}}`;
  expect(parseJsonBody(afterBackslashes(MAX_JSON_DEPTH - 1))).toEqual({ a: 'x\\', b: expect.any(Array) });
  expect(() => parseJsonBody(afterBackslashes(MAX_JSON_DEPTH))).toThrow(/deeper than 32/);
  // An escaped quote (`\"`) does not end the string: the brackets after it, inside it, do not count.
  const inside = JSON.stringify({ a: `\\"${'['.repeat(100)}`, b: [[1]] });
  expect(parseJsonBody(inside)).toEqual({ a: `\\"${'['.repeat(100)}`, b: [[1]] });
  // An unterminated string is the parser's to report.
  expect(() => parseJsonBody('{"a":"[[[')).toThrow(/not valid JSON/);
});

describeOnEachDatabase('JSON bodies: depth and prototype poisoning', (database) => {
  let server: RunningApp;
  let user: TestUser;
  beforeAll(async () => {
    server = await startEmbeddedApp(database());
    user = await signUp(server.app);
  });
  afterAll(() => server.app.close());

  const userCount = async () => (await database().db.select({ n: count() }).from(users))[0]?.n;

  it('[HT3] deeply nested sign-up data and push args get 400 validation_failed, never a 500, and nothing is written', async () => {
    const before = await userCount();
    for (const depth of [MAX_JSON_DEPTH + 1, 10_000, 100_000]) {
      const signUpResponse = await send(
        server.app,
        '/auth/v1/signup',
        `{"email":"deep-${depth}@example.org","password":"long enough pw","data":{"x":${nested(depth)}}}`,
      );
      expect(signUpResponse.statusCode).toBe(400);
      expect(signUpResponse.json()).toEqual({
        error_code: 'validation_failed',
        message: `body: JSON nests deeper than ${MAX_JSON_DEPTH} levels, which no request of this API needs`,
      });
      const push = JSON.stringify(
        pushBody(newId(), 'user', [rawMutation(1, 'mood.upsert@1', { placeholder: true })]),
      ).replace('{"placeholder":true}', nested(depth));
      const pushResponse = await send(server.app, '/sync/push', push, user.token);
      expect(pushResponse.statusCode).toBe(400);
      expect(pushResponse.json<{ error_code: string }>().error_code).toBe('validation_failed');
    }
    expect(await userCount()).toBe(before);
    expect(await database().db.select({ n: count() }).from(mutationErrors)).toEqual([{ n: 0 }]);
  });

  it('[HT3] __proto__ and constructor.prototype keys are refused with 400, as fastify’s own parser does', async () => {
    const before = await userCount();
    for (const data of ['{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"isAdmin":true}}}']) {
      const response = await send(
        server.app,
        '/auth/v1/signup',
        `{"email":"proto-${newId()}@example.org","password":"long enough pw","data":${data}}`,
      );
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        error_code: 'malformed_json',
        message: expect.stringMatching(/forbidden prototype property/),
      });
    }
    expect(await userCount()).toBe(before);
  });
});
