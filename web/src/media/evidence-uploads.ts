/**
 * The entry chunk's handle on the evidence upload queue. The queue itself (media-uploads.ts, with tus-js-client,
 * about 20 KB gzip) is a lazy chunk, loaded only when there may be something to upload: shortly after start when
 * this device has a media database (it captured something before), and at the first capture otherwise. So a
 * first visit fetches none of it (pnpm bench:web counts what a first visit fetches).
 */
import type { SessionTokens } from '../sync/auth-session.ts';
import type { LocalDb } from '../sync/local-db.ts';
import { MEDIA_DB_NAME } from './media-db-name.ts';
import type { UploadQueue } from './upload-queue.ts';

type QueueDeps = { db: LocalDb; tokens: SessionTokens };

let deps: QueueDeps | undefined;
let loading: Promise<UploadQueue | null> | undefined;

async function hasMediaDatabase(): Promise<boolean> {
  // Without indexedDB.databases() (Firefox before 126) the queue is simply loaded.
  if (typeof indexedDB.databases !== 'function') return true;
  try {
    return (await indexedDB.databases()).some((db) => db.name === MEDIA_DB_NAME);
  } catch {
    return true;
  }
}

function whenIdle(run: () => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 5_000 });
  else setTimeout(run, 1_000);
}

/** Called once by openDevice: remembers the session's token reader and starts the queue if files may wait. */
export function prepareEvidenceUploads(queueDeps: QueueDeps): void {
  deps = queueDeps;
  // After the first screen is up: an upload is never more urgent than the SOS button.
  whenIdle(() => {
    void hasMediaDatabase().then((exists) => {
      if (exists) void startEvidenceUploads();
    });
  });
}

/** Loads and starts the queue (once); null before openDevice or when the chunk cannot load. */
export function startEvidenceUploads(): Promise<UploadQueue | null> {
  const queueDeps = deps;
  if (queueDeps === undefined) return Promise.resolve(null);
  loading ??= import('./media-uploads.ts').then(
    (media) => media.startMediaUploads(queueDeps),
    (error: unknown) => {
      console.error('VitalWatch: the evidence upload queue could not load', error);
      loading = undefined;
      return null;
    },
  );
  return loading;
}

/** Something was captured (or signed in): upload soon. */
export function nudgeEvidenceUploads(): void {
  void startEvidenceUploads().then((queue) => queue?.nudge());
}
