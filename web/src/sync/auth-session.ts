/**
 * The signed-in session, kept in the device database (`meta.session`) rather than localStorage so the service
 * worker can sync with it too. The page signs in with supabase-js (ui/account-screen.tsx) and stores the result
 * here; from then on both contexts get tokens from `createSessionTokens`.
 *
 * Refresh tokens rotate (the server refuses a used one), so a refresh runs under the Web Lock `vitalwatch-auth`
 * and re-reads the stored session inside it: when the page and the service worker both see an expired token,
 * the second one finds the first one's new session instead of spending a dead refresh token.
 *
 * Losing the session never touches the outbox: sync stops with `unauthorized` and resumes after the next sign-in.
 */
import * as z from 'zod/mini';
import { eraseLocalData, saysAccountDeleted } from './erase-local-data.ts';
import { metaRow, readMeta, type LocalDb } from './local-db.ts';
import type { LockManagerLike } from './sync-client.ts';

export const StoredSession = z.strictObject({
  accessToken: z.string(),
  refreshToken: z.string(),
  /** Access token expiry, ms since the epoch. */
  expiresAt: z.number(),
  userId: z.string(),
  email: z.nullable(z.string()),
  /** GoTrue endpoint, e.g. `https://x.supabase.co/auth/v1` or this server's `/auth/v1`. */
  authUrl: z.string(),
  anonKey: z.string(),
});
export type StoredSession = z.infer<typeof StoredSession>;

/** The GoTrue token response (password and refresh_token grants). */
const TokenResponse = z.looseObject({
  access_token: z.string(),
  refresh_token: z.string(),
  expires_in: z.number(),
  user: z.looseObject({ id: z.string(), email: z.optional(z.nullable(z.string())) }),
});

/** Refresh this long before expiry, so a token does not expire between the check and the request. */
const EXPIRY_MARGIN_MS = 60_000;

export async function readSession(db: LocalDb): Promise<StoredSession | null> {
  const { session } = await readMeta(db, ['session']);
  const parsed = StoredSession.safeParse(session);
  return parsed.success ? parsed.data : null;
}

/** `null` signs out. A new session also clears the "sign-in ended" mark. */
export async function storeSession(db: LocalDb, session: StoredSession | null): Promise<void> {
  if (session === null) {
    await db.meta.delete('session');
    return;
  }
  await db.meta.put(metaRow('session', session));
  await db.meta.delete('sessionEndedAt');
}

/** A session from a GoTrue token response (as `fetch` or supabase-js return it). */
export function sessionFromTokenResponse(
  body: unknown,
  endpoint: { authUrl: string; anonKey: string },
  now: number,
): StoredSession {
  const t = TokenResponse.parse(body);
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    expiresAt: now + t.expires_in * 1000,
    userId: t.user.id,
    email: t.user.email ?? null,
    authUrl: endpoint.authUrl,
    anonKey: endpoint.anonKey,
  };
}

export interface SessionTokenDeps {
  db: LocalDb;
  now: () => number;
  fetch?: typeof fetch;
  locks?: LockManagerLike | undefined;
}

export interface SessionTokens {
  getAccessToken(): Promise<string | null>;
  refreshAccessToken(): Promise<string | null>;
}

export function createSessionTokens(deps: SessionTokenDeps): SessionTokens {
  const doFetch = deps.fetch ?? ((input, init) => fetch(input, init));
  const locks = deps.locks ?? (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;

  async function refresh(stale: StoredSession): Promise<string | null> {
    const current = await readSession(deps.db);
    if (current === null) return null;
    // Someone else refreshed while we waited for the lock.
    if (current.refreshToken !== stale.refreshToken) return current.accessToken;
    let response: Response;
    try {
      response = await doFetch(`${current.authUrl}/token?grant_type=refresh_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', apikey: current.anonKey },
        body: JSON.stringify({ refresh_token: current.refreshToken }),
      });
    } catch {
      // No network: keep the session; the request that follows fails as offline, not as signed out.
      return current.accessToken;
    }
    // The account was deleted (here or on another device): this device's copy goes too (SPEC DR11).
    if (await saysAccountDeleted(response)) {
      await eraseLocalData(deps.db, deps.now());
      return null;
    }
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      // Signed out by the server, not by the user: say so (the status bar asks them to sign in again).
      await storeSession(deps.db, null);
      await deps.db.meta.put(metaRow('sessionEndedAt', deps.now()));
      return null;
    }
    if (!response.ok) return current.accessToken;
    const next = sessionFromTokenResponse(await response.json(), current, deps.now());
    await storeSession(deps.db, next);
    return next.accessToken;
  }

  function underLock(stale: StoredSession): Promise<string | null> {
    if (locks === undefined) return refresh(stale);
    return locks.request('vitalwatch-auth', () => refresh(stale));
  }

  return {
    async getAccessToken() {
      const session = await readSession(deps.db);
      if (session === null) return null;
      if (session.expiresAt - EXPIRY_MARGIN_MS > deps.now()) return session.accessToken;
      return underLock(session);
    },
    async refreshAccessToken() {
      const session = await readSession(deps.db);
      return session === null ? null : underLock(session);
    },
  };
}
