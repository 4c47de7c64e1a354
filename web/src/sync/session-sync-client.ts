import { createSessionTokens } from './auth-session.ts';
import { createHttpTransport } from './http-transport.ts';
import type { LocalDb } from './local-db.ts';
import { createSyncClient, type SyncClient } from './sync-client.ts';

/** The sync client the page and the service worker both use: same-origin HTTP, tokens from the stored session. */
export function createSessionSyncClient(db: LocalDb, now: () => number): SyncClient {
  const tokens = createSessionTokens({ db, now });
  return createSyncClient({
    db,
    transport: createHttpTransport({ baseUrl: '' }),
    getAccessToken: () => tokens.getAccessToken(),
    refreshAccessToken: () => tokens.refreshAccessToken(),
    now,
  });
}
