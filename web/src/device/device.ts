/**
 * One device: the local database, the mutators (the only way screens write synced data), the sync client and the
 * loop that decides when it runs. Created once per page (main.tsx); the service worker builds its own client from
 * the same parts (web/src/sync/background-sync.ts).
 */
import { metaRow, openLocalDb, readMeta, type LocalDb } from '../sync/local-db.ts';
import { createSessionTokens } from '../sync/auth-session.ts';
import type { PokeStream } from '../sync/poke-stream.ts';
import { createMutators, type Mutators } from '../sync/mutators.ts';
import { runAsLeader, type SyncClient } from '../sync/sync-client.ts';
import { createSessionSyncClient } from '../sync/session-sync-client.ts';
import { documentVisibility, globalOnlineEvents, startSyncLoop, type SyncLoop } from '../sync/sync-loop.ts';
import { BACKGROUND_SYNC_TAG } from '../sync/background-sync.ts';
import { prepareEvidenceUploads } from '../media/evidence-uploads.ts';

export interface Device {
  readonly db: LocalDb;
  readonly mutators: Mutators;
  readonly client: SyncClient;
  readonly loop: SyncLoop;
  /** `GET /sync/events`: the server's pokes; `wake()` after sign-in. */
  readonly pokes: PokeStream;
}

/**
 * `onAlert`: an alert event from the stream (someone who lists this user as a contact needs help); the page shows
 * it on screen whatever is open (main.tsx wires the lazy overlay, so this layer does not import screens).
 */
export function openDevice(onAlert: (message: unknown) => void): Device {
  const db = openLocalDb();
  const now = () => Date.now();
  const tokens = createSessionTokens({ db, now });
  const client = createSessionSyncClient(db, now, tokens);
  const loop = startSyncLoop({
    sync: () => runAsLeader(() => client.syncOnce()),
    onlineEvents: globalOnlineEvents(window),
    visibility: documentVisibility(document),
    intervalMs: 60_000,
    isBehind: async (version) => ((await readMeta(db, ['cursor'])).cursor ?? 0) < version,
  });
  const pokes = lazyPokeStream(() =>
    import('../sync/poke-stream.ts').then((m) =>
      m.startPokeStream({
        getAccessToken: () => tokens.getAccessToken(),
        onPoke: (message) => loop.poke(message),
        onAlert,
      }),
    ),
  );
  // Signed in: the stream opens at once, as before; a first visit (no session) never loads its code.
  void tokens.getAccessToken().then(
    (token) => token !== null && pokes.wake(),
    () => undefined,
  );
  window.addEventListener('online', () => pokes.wake());
  client.subscribe((status) => {
    if (status.lastSyncedAt !== null) void db.meta.put(metaRow('lastSyncedAt', status.lastSyncedAt));
  });
  const mutators = createMutators({
    db,
    now,
    onCommitted: (lane) => {
      loop.notifyLocalWrite(lane);
      void requestBackgroundSync();
    },
  });
  prepareEvidenceUploads({ db, tokens });
  return { db, mutators, client, loop, pokes };
}

/**
 * The event stream's code is a lazy chunk (it also routes incoming alerts): it is fetched the first time a session
 * needs the stream, so the first visit's bundle does not carry it. Pokes are hints (the loop pulls on a timer
 * too), so a stream that opens a moment after the first paint loses nothing.
 */
function lazyPokeStream(start: () => Promise<PokeStream>): PokeStream {
  let stream: Promise<PokeStream> | null = null;
  let stopped = false;
  return {
    wake() {
      if (stopped) return;
      // Starting connects by itself; only a stream already started needs waking.
      if (stream === null) stream = start();
      else void stream.then((s) => s.wake());
    },
    stop() {
      stopped = true;
      void stream?.then((s) => s.stop());
    },
  };
}

interface SyncManagerLike {
  register(tag: string): Promise<void>;
}

/**
 * Asks the browser to wake the service worker when the network is back, even if this page is closed by then.
 * Only Chromium has Background Sync (docs/platform-facts.md); elsewhere the page's own loop is the only driver.
 */
async function requestBackgroundSync(): Promise<void> {
  if (!('serviceWorker' in navigator)) return;
  try {
    const registration = await navigator.serviceWorker.getRegistration();
    const sync = (registration as { sync?: SyncManagerLike } | undefined)?.sync;
    await sync?.register(BACKGROUND_SYNC_TAG);
  } catch {
    // Not supported or not permitted: the page's loop still syncs while open.
  }
}
