import { createSessionTokens, type SessionTokens } from './auth-session.ts';
import { createHttpTransport } from './http-transport.ts';
import type { LocalDb } from './local-db.ts';
import { createSyncClient, type SyncClient } from './sync-client.ts';

/**
 * The sync client the page and the service worker both use: same-origin HTTP, tokens from the stored session
 * (pass `tokens` to share them with another user of the session, e.g. the poke stream).
 */
export function createSessionSyncClient(
  db: LocalDb,
  now: () => number,
  tokens: SessionTokens = createSessionTokens({ db, now }),
): SyncClient {
  return createSyncClient({
    db,
    transport: createHttpTransport({ baseUrl: '' }),
    getAccessToken: () => tokens.getAccessToken(),
    refreshAccessToken: () => tokens.refreshAccessToken(),
    now,
  });
}
