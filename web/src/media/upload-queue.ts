/**
 * The evidence upload queue, run from the page. One round uploads the waiting files one at a time (a 2G link
 * has no room for two) in order: files of open incidents first, then oldest first. It stops at the first
 * network problem (the next files would meet the same link) and at a lost session; a refused file is marked
 * and the round goes on to the next.
 *
 * When rounds run is the sync loop's job (sync-loop.ts, reused as is): at start, on `online`, when the page
 * becomes visible, after a capture (`nudge`), every minute while visible, and with exponential backoff after a
 * failure. Rounds hold the Web Lock `vitalwatch-media-upload`, so two tabs never upload the same file at once.
 *
 * Progress (`bytesSent`) is written to the file's row at most every `progressIntervalMs`, so the screen follows
 * through its live query without a write per XHR progress event.
 */
import {
  startSyncLoop,
  type Signal,
  type SyncLoop,
  type Timers,
  type Visibility,
} from '../sync/sync-loop.ts';
import type { LockManagerLike, SyncOutcome } from '../sync/sync-client.ts';
import { evidenceObjectName } from './evidence-object-name.ts';
import { extensionFor } from './evidence-types.ts';
import type { MediaDb, MediaFileRow } from './media-db.ts';
import { readMediaBlob } from './media-store.ts';
import type { UploadResult } from './upload-result.ts';

export interface UploadJob {
  readonly file: MediaFileRow & { readonly objectName: string };
  readonly blob: Blob;
  /** Bytes sent so far (including bytes in flight). */
  onProgress(bytesSent: number): void;
  /** The bytes are in Supabase Storage, not yet verified by the server: later attempts only ask it again. */
  markStored(): Promise<void>;
}

/** Uploads one file to the end, resuming a stored upload; never rejects. */
export type UploadRunner = (job: UploadJob) => Promise<UploadResult>;

export interface UploadRoundDeps {
  readonly media: MediaDb;
  /** Ids of incidents that are active or acknowledged (the synced database's `emergency_incidents`). */
  openIncidentIds(): Promise<ReadonlySet<string>>;
  /** The signed-in user, or null. */
  currentUserId(): Promise<string | null>;
  /**
   * Whether the incident's trigger still waits in the sync outbox. Its files wait too, so the server can link
   * them to the incident when it records them (a file that arrives first is kept without the link).
   */
  incidentPending(incidentId: string): Promise<boolean>;
  /** Forces a token refresh after a 401; null = the session is gone. */
  refreshAccessToken(): Promise<string | null>;
  readonly upload: UploadRunner;
  readonly now: () => number;
  /** Default 500 ms. */
  readonly progressIntervalMs?: number;
}

export const SIGNED_OUT_MESSAGE = 'Will upload after you sign in.';
export const INCIDENT_PENDING_MESSAGE = 'Waiting for the SOS to reach the server first.';
/** How soon to look again when every waiting file waits for its incident's push. */
export const INCIDENT_PENDING_RETRY_MS = 2_000;

/** The order files are uploaded in: open incidents first, then oldest capture first. */
export function orderForUpload(
  files: readonly MediaFileRow[],
  openIncidents: ReadonlySet<string>,
): MediaFileRow[] {
  const rank = (file: MediaFileRow) => (openIncidents.has(file.incidentId) ? 0 : 1);
  return [...files].sort(
    (a, b) => rank(a) - rank(b) || a.capturedAt - b.capturedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** Files that still need uploading. `uploading` ones were left so by a page that closed mid-upload. */
export function pendingFiles(media: MediaDb): Promise<MediaFileRow[]> {
  return media.files.where('state').anyOf('waiting', 'uploading').toArray();
}

/** At most one write per `intervalMs`; `settle()` drops what is pending and waits for a write in flight. */
function throttled(write: (value: number) => Promise<unknown>, intervalMs: number, now: () => number) {
  let lastAt = Number.NEGATIVE_INFINITY;
  let pending: number | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === null) return;
    lastAt = now();
    inFlight = write(pending).catch(() => undefined);
    pending = null;
  };
  return {
    push(value: number) {
      pending = value;
      if (now() - lastAt >= intervalMs) flush();
      else timer ??= setTimeout(flush, intervalMs - (now() - lastAt));
    },
    async settle() {
      clearTimeout(timer);
      timer = undefined;
      pending = null;
      await inFlight;
    },
  };
}

const ok = (uploaded: number): SyncOutcome => ({ kind: 'ok', pushed: uploaded, pulled: 0, stuckLanes: [] });

/** One round: uploads pending files until none is left or one cannot go now. */
export async function runUploadRound(deps: UploadRoundDeps): Promise<SyncOutcome> {
  const { media } = deps;
  const tried = new Set<string>();
  let uploaded = 0;
  let refreshed = false;
  const incidentPending = new Map<string, boolean>();
  const waitsForIncident = async (file: MediaFileRow) => {
    let pending = incidentPending.get(file.incidentId);
    if (pending === undefined) {
      pending = await deps.incidentPending(file.incidentId);
      incidentPending.set(file.incidentId, pending);
    }
    return pending;
  };
  for (;;) {
    const candidates = (await pendingFiles(media)).filter((file) => !tried.has(file.id));
    if (candidates.length === 0) return ok(uploaded);
    const userId = await deps.currentUserId();
    if (userId === null) {
      await media.files
        .where('state')
        .anyOf('waiting', 'uploading')
        .modify({ state: 'waiting', message: SIGNED_OUT_MESSAGE });
      return { kind: 'unauthorized' };
    }
    const ready: MediaFileRow[] = [];
    for (const file of candidates) {
      if (!(await waitsForIncident(file))) ready.push(file);
      else if (file.message !== INCIDENT_PENDING_MESSAGE) {
        await media.files.update(file.id, { state: 'waiting', message: INCIDENT_PENDING_MESSAGE });
      }
    }
    const [next] = orderForUpload(ready, await deps.openIncidentIds());
    if (next === undefined) {
      return { kind: 'retry-later', status: 0, retryAfterMs: INCIDENT_PENDING_RETRY_MS };
    }
    tried.add(next.id);

    const blob = await readMediaBlob(media, next.id);
    if (blob === null) {
      await media.files.update(next.id, {
        state: 'failed-permanent',
        message: 'The bytes of this file are missing on this phone.',
      });
      continue;
    }
    const objectName = next.objectName ?? evidenceObjectName(userId, next, extensionFor(next.contentType));
    await media.files.update(next.id, { objectName, state: 'uploading', message: null });

    const progress = throttled(
      (bytesSent) => media.files.update(next.id, { bytesSent }),
      deps.progressIntervalMs ?? 500,
      deps.now,
    );
    const result = await deps.upload({
      file: { ...next, objectName, state: 'uploading' },
      blob,
      onProgress: (bytesSent) => progress.push(bytesSent),
      markStored: async () => {
        await progress.settle();
        await media.files.update(next.id, { storedAt: deps.now() });
      },
    });
    // A late progress write must not land after the final state.
    await progress.settle();

    switch (result.kind) {
      case 'uploaded':
      case 'exists':
        await media.files.update(next.id, {
          state: 'uploaded',
          message: null,
          bytesSent: next.size,
          storedAt: null,
          uploadedAt: deps.now(),
        });
        uploaded += 1;
        break;
      case 'resend':
        // The server deleted what reached Supabase (or found nothing): the whole file goes again, next round.
        await media.files.update(next.id, {
          state: 'waiting',
          message: `${result.message} Sending it again.`,
          bytesSent: 0,
          storedAt: null,
          uploadUrl: null,
          uploadCreatedAt: null,
        });
        break;
      case 'refused':
        // Final for this file: the bytes stay on the device whatever the server said.
        await media.files.update(next.id, { state: 'failed-permanent', message: result.message });
        break;
      case 'unauthorized':
        if (!refreshed && (await deps.refreshAccessToken()) !== null) {
          refreshed = true;
          tried.delete(next.id);
          await media.files.update(next.id, { state: 'waiting' });
          break;
        }
        await media.files.update(next.id, { state: 'waiting', message: SIGNED_OUT_MESSAGE });
        return { kind: 'unauthorized' };
      case 'offline':
        await media.files.update(next.id, { state: 'waiting', message: null });
        return { kind: 'offline', error: result.error };
      case 'retry-later':
        await media.files.update(next.id, {
          state: 'waiting',
          message: `The server is busy (HTTP ${result.status}); trying again soon.`,
        });
        return result;
    }
  }
}

export interface UploadQueueOptions extends UploadRoundDeps {
  readonly onlineEvents?: Signal;
  readonly visibility?: Visibility;
  readonly timers?: Timers;
  readonly locks?: LockManagerLike | undefined;
  /** Default 60 s: picks up a sign-in made elsewhere without waiting for the backoff. */
  readonly intervalMs?: number;
}

export interface UploadQueue {
  /** Something was captured (or signed in): run a round now. */
  nudge(): void;
  /** Resolves when no round is running. */
  idle(): Promise<void>;
  stop(): void;
}

export const UPLOAD_LOCK = 'vitalwatch-media-upload';

export function startUploadQueue(options: UploadQueueOptions): UploadQueue {
  const round = () => runUploadRound(options);
  const { locks } = options;
  const loop: SyncLoop = startSyncLoop({
    sync: () => (locks === undefined ? round() : locks.request(UPLOAD_LOCK, round)),
    intervalMs: options.intervalMs ?? 60_000,
    ...(options.onlineEvents !== undefined && { onlineEvents: options.onlineEvents }),
    ...(options.visibility !== undefined && { visibility: options.visibility }),
    ...(options.timers !== undefined && { timers: options.timers }),
  });
  return {
    nudge: () => loop.notifyLocalWrite('critical'),
    idle: () => loop.idle(),
    stop: () => loop.stop(),
  };
}
