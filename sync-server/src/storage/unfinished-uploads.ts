/**
 * How many unfinished uploads an account may hold in the tus store, and how long uploads are kept there
 * (SPEC SE6, SE7; ADR 0008).
 *
 * - An account holds at most `unfinishedPerAccount` unfinished uploads (UPLOAD_UNFINISHED_LIMIT, 20). The next
 *   creation is answered 429 `too_many_unfinished_uploads`, naming the limit, with Retry-After: the time until the
 *   oldest idle one is deleted. A device treats 429 as "try later" (web/src/media/upload-result.ts), never as a
 *   refusal of the file.
 * - SOS evidence (bucket `emergency`, `user-{id}/incident-{id}/…` of an incident the server has) is never refused
 *   here and never counted, so a full allowance of avatars or exports cannot stand in its way. Its bound is the
 *   incident itself (the device uploads only after the server acknowledged the trigger) and its expiry.
 * - The hourly sweep deletes an unfinished upload after `abandonedAfterMs` (UPLOAD_ABANDONED_HOURS, 24 h) without a
 *   new byte, SOS evidence after EVIDENCE_KEPT_MS without one (a phone may be out of signal for days after an SOS,
 *   and a deleted upload costs the person its bytes again), and a finished upload's record FINISHED_KEPT_MS after
 *   it was created (it answers HEAD with the full offset for a device whose last answer was lost). Deleting an
 *   unfinished upload loses nothing: the device keeps every file until it is uploaded, and starts it again.
 *
 * The count lives in memory (embedded storage is one instance, ADR 0008) and is loaded from the store on first use.
 * Before it refuses, it checks the account's uploads on disk, so one deleted behind its back (tus's DELETE, a
 * refused completion) or finished never counts.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FileStore } from '@tus/file-store';
import type { Upload } from '@tus/server';
import { HttpError } from '../http/http-error.ts';
import { isPathProblem, parseObjectRef } from './object-paths.ts';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

export type UploadLimits = {
  /** Unfinished uploads one account may hold, SOS evidence aside (UPLOAD_UNFINISHED_LIMIT). */
  unfinishedPerAccount: number;
  /** An unfinished upload with no new byte for this long is deleted (UPLOAD_ABANDONED_HOURS). */
  abandonedAfterMs: number;
};

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  unfinishedPerAccount: 20,
  abandonedAfterMs: 24 * HOUR_MS,
};
export const EVIDENCE_KEPT_MS = 30 * DAY_MS;
export const FINISHED_KEPT_MS = 30 * DAY_MS;

/** The 429 when an account's allowance is full; `retryAfterSeconds` is when the oldest idle upload goes. */
export class TooManyUnfinishedUploads extends HttpError {
  constructor(
    limit: number,
    abandonedAfterMs: number,
    readonly retryAfterSeconds: number,
  ) {
    super(
      429,
      'too_many_unfinished_uploads',
      `you already have ${limit} unfinished uploads, the most this server keeps per account ` +
        `(UPLOAD_UNFINISHED_LIMIT=${limit}): finish or delete one, or try again in ${retryAfterSeconds} s, when ` +
        `one left without new bytes for ${Math.round(abandonedAfterMs / HOUR_MS)} h is deleted. ` +
        'Recordings and photos of an SOS are not limited.',
    );
  }
}

type Stored = { upload: Upload; lastActivityMs: number; finished: boolean; evidence: boolean };

function ownerOfUpload(upload: Upload): string | null {
  const object = parseObjectRef(upload.metadata?.bucketName ?? '', upload.metadata?.objectName ?? '');
  return isPathProblem(object) ? null : object.ownerId;
}

export class UnfinishedUploads {
  /** Unfinished, counted uploads by owner. */
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly ownerOf = new Map<string, string>();
  private loaded: Promise<void> | null = null;

  constructor(
    private readonly store: FileStore,
    private readonly limits: UploadLimits,
    private readonly now: () => Date,
  ) {}

  /** The upload as it is on disk, or null when it is gone. */
  private async read(id: string): Promise<Stored | null> {
    try {
      const upload = await this.store.getUpload(id);
      const stat = await fs.stat(path.join(this.store.directory, id));
      const created = upload.creation_date === undefined ? 0 : Date.parse(upload.creation_date);
      return {
        upload,
        lastActivityMs: Math.max(stat.mtimeMs, Number.isNaN(created) ? 0 : created),
        finished: upload.size !== undefined && upload.offset >= upload.size,
        evidence: upload.metadata?.evidence === 'true',
      };
    } catch {
      return null;
    }
  }

  private owned(owner: string): Set<string> {
    let ids = this.byOwner.get(owner);
    if (ids === undefined) this.byOwner.set(owner, (ids = new Set()));
    return ids;
  }

  private count(id: string, owner: string): void {
    this.owned(owner).add(id);
    this.ownerOf.set(id, owner);
  }

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      for (const id of (await this.store.configstore.list?.()) ?? []) {
        const stored = await this.read(id);
        const owner = stored === null ? null : ownerOfUpload(stored.upload);
        if (stored !== null && owner !== null && !stored.finished && !stored.evidence) this.count(id, owner);
      }
    })();
    return this.loaded;
  }

  /**
   * Admits upload `id` of `owner` or throws TooManyUnfinishedUploads. SOS evidence is admitted uncounted. No
   * await between the last count and the add, so two creations at once cannot both take the last place (a
   * recheck that runs while another creation's file is not written yet does not count that one: one more at most).
   */
  async admit(id: string, owner: string, evidence: boolean): Promise<void> {
    if (evidence) return;
    await this.load();
    const ids = this.owned(owner);
    if (ids.size < this.limits.unfinishedPerAccount) {
      this.count(id, owner);
      return;
    }
    let soonestGoneMs = Number.POSITIVE_INFINITY;
    for (const known of [...ids]) {
      const stored = await this.read(known);
      if (stored === null || stored.finished) this.settle(known);
      else soonestGoneMs = Math.min(soonestGoneMs, stored.lastActivityMs + this.limits.abandonedAfterMs);
    }
    if (ids.size < this.limits.unfinishedPerAccount) {
      this.count(id, owner);
      return;
    }
    const seconds = Math.max(1, Math.ceil((soonestGoneMs - this.now().getTime()) / 1000));
    throw new TooManyUnfinishedUploads(
      this.limits.unfinishedPerAccount,
      this.limits.abandonedAfterMs,
      seconds,
    );
  }

  /** The upload is finished or deleted: it no longer counts. */
  settle(id: string): void {
    const owner = this.ownerOf.get(id);
    if (owner !== undefined) this.byOwner.get(owner)?.delete(id);
    this.ownerOf.delete(id);
  }

  /** Deletes what has been kept long enough (see the header); returns how many uploads went. */
  async sweep(): Promise<number> {
    const now = this.now().getTime();
    let removed = 0;
    for (const id of (await this.store.configstore.list?.()) ?? []) {
      const stored = await this.read(id);
      if (stored === null) continue;
      const created = Date.parse(stored.upload.creation_date ?? '');
      const expired = stored.finished
        ? now > (Number.isNaN(created) ? stored.lastActivityMs : created) + FINISHED_KEPT_MS
        : now > stored.lastActivityMs + (stored.evidence ? EVIDENCE_KEPT_MS : this.limits.abandonedAfterMs);
      if (!expired) continue;
      // Gone already (a DELETE, a completion refused meanwhile): nothing to do.
      await this.store.remove(id).then(
        () => (removed += 1),
        () => undefined,
      );
      this.settle(id);
    }
    return removed;
  }
}
