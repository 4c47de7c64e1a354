/**
 * Sync from the service worker's `sync` event (Background Sync: Chromium only, docs/platform-facts.md). The page asks
 * for it after each local write (device/device.ts); the browser fires it when the network is back, even if no
 * page is open. The round runs under the same Web Lock as the page's loop, with the same session.
 *
 * A round that could not reach the server throws, so the browser schedules the event again later; a round the
 * server answered (even `unauthorized`) resolves: retrying cannot fix it, and the page's loop takes over.
 */
import { openLocalDb } from './local-db.ts';
import { createSessionSyncClient } from './session-sync-client.ts';
import { runAsLeader, type SyncOutcome } from './sync-client.ts';

export const BACKGROUND_SYNC_TAG = 'vitalwatch-sync';

export async function syncInBackground(): Promise<SyncOutcome> {
  const db = openLocalDb();
  try {
    const client = createSessionSyncClient(db, () => Date.now());
    const outcome = await runAsLeader(() => client.syncOnce());
    if (outcome.kind === 'offline' || outcome.kind === 'retry-later') {
      throw new Error(`background sync: ${outcome.kind}; the browser will try again`);
    }
    return outcome;
  } finally {
    db.close();
  }
}
