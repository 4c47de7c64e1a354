/**
 * The page's evidence uploads: one media database and one upload queue per page. A lazy chunk: the entry's
 * evidence-uploads.ts loads and starts it when there may be files to upload, and the evidence panel nudges it
 * (through the same module) after each capture. The session and its tokens are the sync client's (auth-session.ts); "the
 * incident has reached the server" is the SOS screen's own test (sos/trigger-acknowledged.ts).
 */
import { readSession, type SessionTokens } from '../sync/auth-session.ts';
import type { LocalDb } from '../sync/local-db.ts';
import { isOpenIncident } from '@vitalwatch/schema/protocol/incident-status';
import { triggerAcknowledged } from '../sos/trigger-acknowledged.ts';
import { documentVisibility, globalOnlineEvents } from '../sync/sync-loop.ts';
import type { LockManagerLike } from '../sync/sync-client.ts';
import { createDexieUrlStorage } from './dexie-url-storage.ts';
import { openMediaDb, type MediaDb } from './media-db.ts';
import { createTusUploader } from './tus-uploader.ts';
import { createUploadVerifier } from './verify-upload.ts';
import { startUploadQueue, type UploadQueue } from './upload-queue.ts';

let media: MediaDb | undefined;
let queue: UploadQueue | undefined;

/** The page's media database (opened on first use). */
export function mediaDb(): MediaDb {
  media ??= openMediaDb();
  return media;
}

/** Ids of the incidents that are still open, for the upload order. */
async function openIncidentIds(db: LocalDb): Promise<ReadonlySet<string>> {
  const open = await db.emergency_incidents.filter(isOpenIncident).primaryKeys();
  return new Set(open);
}

/** Starts the page's upload queue (once). */
export function startMediaUploads(deps: { db: LocalDb; tokens: SessionTokens }): UploadQueue {
  if (queue !== undefined) return queue;
  const { db, tokens } = deps;
  const files = mediaDb();
  const locks: LockManagerLike | undefined = 'locks' in navigator ? navigator.locks : undefined;
  queue = startUploadQueue({
    media: files,
    openIncidentIds: () => openIncidentIds(db),
    incidentPending: async (incidentId) => !(await triggerAcknowledged(db, incidentId)),
    currentUserId: async () => (await readSession(db))?.userId ?? null,
    refreshAccessToken: () => tokens.refreshAccessToken(),
    upload: createTusUploader({
      session: () => readSession(db),
      getAccessToken: () => tokens.getAccessToken(),
      urlStorage: createDexieUrlStorage(files),
      serverOrigin: location.origin,
      verify: createUploadVerifier({
        serverOrigin: location.origin,
        getAccessToken: () => tokens.getAccessToken(),
      }),
    }),
    now: () => Date.now(),
    onlineEvents: globalOnlineEvents(window),
    visibility: documentVisibility(document),
    locks,
  });
  return queue;
}
