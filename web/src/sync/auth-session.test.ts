import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { createSessionTokens, readSession, storeSession, type StoredSession } from './auth-session.ts';
import { openLocalDb, readMeta } from './local-db.ts';
import type { LockManagerLike } from './sync-client.ts';

let dbCount = 0;
const NOW = 1_800_000_000_000;

function session(overrides: Partial<StoredSession> = {}): StoredSession {
  return {
    accessToken: 'access-1',
    refreshToken: 'refresh-1',
    expiresAt: NOW + 15 * 60_000,
    userId: '0190a000-0000-7000-8000-0000000000aa',
    email: 'ana@example.org',
    authUrl: 'http://server.test/auth/v1',
    anonKey: 'anon',
    ...overrides,
  };
}

/** One lock holder at a time, like navigator.locks. */
function memoryLocks(): LockManagerLike {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request<T>(_name: string, callback: () => Promise<T>): Promise<T> {
      const run = tail.then(callback, callback);
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

async function setup(stored: StoredSession | null) {
  const db = openLocalDb({ name: `auth-session-test-${++dbCount}` });
  await storeSession(db, stored);
  const calls: Array<{ url: string; body: string }> = [];
  let respond: () => Response | Promise<Response> = () =>
    Response.json({
      access_token: `access-${calls.length + 1}`,
      refresh_token: `refresh-${calls.length + 1}`,
      expires_in: 900,
      user: { id: session().userId, email: 'ana@example.org' },
    });
  const fetchFn: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : input.toString();
    calls.push({ url, body: typeof init?.body === 'string' ? init.body : '' });
    return respond();
  };
  const tokens = createSessionTokens({
    db,
    now: () => NOW,
    fetch: fetchFn,
    locks: memoryLocks(),
  });
  return { db, tokens, calls, setResponse: (r: typeof respond) => (respond = r) };
}

/** A change waiting in the outbox. */
function addPendingEntry(db: ReturnType<typeof openLocalDb>) {
  return db.outbox.add({
    lane: 'user',
    seq: 1,
    name: 'mood.upsert@1',
    args: {},
    hlc: 'x',
    createdAt: NOW,
    attempts: 0,
    lastError: null,
    refs: [],
  });
}

describe('the stored session (used by the page and the service worker)', () => {
  it('a fresh token is returned without a request; no session means null', async () => {
    const { tokens, calls } = await setup(session());
    expect(await tokens.getAccessToken()).toBe('access-1');
    expect(calls).toHaveLength(0);
    const empty = await setup(null);
    expect(await empty.tokens.getAccessToken()).toBeNull();
  });

  it('an expiring token is refreshed once even when two contexts ask at the same time (rotation-safe)', async () => {
    const { db, tokens, calls } = await setup(session({ expiresAt: NOW + 30_000 }));
    const [a, b] = await Promise.all([tokens.getAccessToken(), tokens.getAccessToken()]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe('http://server.test/auth/v1/token?grant_type=refresh_token');
    expect(JSON.parse(calls[0]?.body ?? '')).toEqual({ refresh_token: 'refresh-1' });
    expect([a, b]).toEqual(['access-2', 'access-2']);
    expect(await readSession(db)).toMatchObject({ refreshToken: 'refresh-2', expiresAt: NOW + 900_000 });
  });

  it('a refused refresh token signs the device out (and marks it, for the status bar) but keeps the outbox', async () => {
    const { db, tokens, setResponse } = await setup(session({ expiresAt: NOW }));
    await addPendingEntry(db);
    setResponse(() => Response.json({ error_code: 'refresh_token_already_used' }, { status: 401 }));
    expect(await tokens.getAccessToken()).toBeNull();
    expect(await readSession(db)).toBeNull();
    expect(await db.outbox.count()).toBe(1);
    expect((await readMeta(db, ['sessionEndedAt'])).sessionEndedAt).toBe(NOW);
    await storeSession(db, session());
    expect(await readMeta(db, ['sessionEndedAt'])).toEqual({});
  });

  it('[DR11] a refresh answered account_deleted erases everything the device holds and marks it, for the message', async () => {
    const { db, tokens, setResponse } = await setup(session({ expiresAt: NOW }));
    await addPendingEntry(db);
    await db.meta.put({ key: 'userId', value: session().userId });
    setResponse(() =>
      Response.json({ error_code: 'account_deleted', message: 'This account was deleted' }, { status: 401 }),
    );
    expect(await tokens.refreshAccessToken()).toBeNull();
    for (const table of db.tables) {
      const rows = await table.toArray();
      expect(rows, table.name).toEqual(
        table.name === 'meta' ? [{ key: 'accountDeletedAt', value: NOW }] : [],
      );
    }
    expect(await readSession(db)).toBeNull();
  });

  it('no network during a refresh keeps the session (the push then fails as offline, not as signed out)', async () => {
    const { db, tokens, setResponse } = await setup(session({ expiresAt: NOW }));
    setResponse(() => Promise.reject(new TypeError('Failed to fetch')));
    expect(await tokens.getAccessToken()).toBe('access-1');
    expect(await readSession(db)).toMatchObject({ refreshToken: 'refresh-1' });
  });
});
