/**
 * One sync round (`syncOnce`): push the outbox lane by lane, then pull until complete.
 *
 * Push: the oldest entries (≤ 100 on the user lane, ≤ 500 otherwise) of the first non-empty lane in the order
 * critical → user → bulk, one lane per request. The lanes are re-checked before every batch, so an incident
 * triggered during a long sample upload goes next, alone. Every acknowledged seq (ok, dup, rejected; and anything at or below the response's `lastSeq`)
 * leaves the outbox at once; rejected ones move to `rejections`. Nothing else ever removes an outbox entry:
 * a network error, a 5xx, a 503 with Retry-After, an expired token (refreshed once and retried) or a refused
 * batch keep it, with `attempts` and `lastError` updated.
 *
 * Pull: pages from the stored cursor until `complete`. A change to a row with pending mutations updates that
 * row's base and the row is rebuilt on top of it (pending-rows.ts). A page with `reset` starts a rebuild from
 * version 0: the synced tables are replaced page by page, the rows the server did not send are removed at the
 * last page, and the outbox is kept and re-applied. The cursor moves only when the rebuild is complete, so an
 * interrupted one starts again; continuation pages of a rebuild must come with `reset: false`.
 *
 * Each exchange measures the device's clock offset from `serverTime`; over 10 minutes raises `clockSkewWarning`.
 */
import { Dexie, type Table } from 'dexie';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import { LANES } from '@vitalwatch/schema/protocol/lane';
import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import type { PullRequest } from '@vitalwatch/schema/protocol/pull-request';
import { PullResponse, type Change } from '@vitalwatch/schema/protocol/pull-response';
import type { PushRequest } from '@vitalwatch/schema/protocol/push-request';
import { PushResponse, type MutationResult } from '@vitalwatch/schema/protocol/push-response';
import { ROW_SCHEMAS } from '@vitalwatch/schema/protocol/rows';
import { formatHlc, HLC_ZERO, parseHlc, receiveHlc } from '@vitalwatch/schema/protocol/hlc';
import {
  ensureClientId,
  metaRow,
  readMeta,
  rowRef,
  SYNCED_TABLE_NAMES,
  type LocalDb,
  type OutboxEntry,
  type RowRef,
  type SyncedRow,
} from './local-db.ts';
import {
  applyServerChange,
  localRefs,
  pendingRefs,
  rebuildRows,
  settleAcks,
  settleAfterPull,
  type AckStatus,
} from './pending-rows.ts';
import type { SyncTransport, TransportResponse } from './transport.ts';

export const MAX_PUSH_BATCH = 500;
/**
 * Default entries per push by lane. A `user` batch holds the account's version lock until it commits, and an SOS
 * pushed meanwhile waits for it: since moods and coping logs apply set-based (ADR 0007), 500 moods hold a trigger
 * ~20–40 ms on Postgres (bench/README.md, 0.5 s before), so user batches are full size again; a batch of other
 * kinds (contacts, settings) still costs ~5 statements each. Bulk batches take no version lock.
 */
const LANE_BATCH: Readonly<Record<Lane, number>> = {
  critical: MAX_PUSH_BATCH,
  user: MAX_PUSH_BATCH,
  bulk: MAX_PUSH_BATCH,
};
/**
 * Changes per pull page: the protocol's maximum. Fewer, larger pages cost fewer round trips on a slow link
 * (10,000 rows: 2 pages instead of 11); a page is one REPEATABLE READ query on the server.
 */
const DEFAULT_PULL_LIMIT = 5_000;
/** Uncompressed JSON bytes per push (the server's body limit is 256 KiB); a single larger entry still goes alone. */
const DEFAULT_MAX_BATCH_BYTES = 192 * 1024;
export const CLOCK_SKEW_WARNING_MS = 10 * 60_000;

export type SyncOutcome =
  | {
      readonly kind: 'ok';
      readonly pushed: number;
      readonly pulled: number;
      readonly stuckLanes: readonly Lane[];
    }
  /** No answer (offline, timeout, DNS…): everything is kept. */
  | { readonly kind: 'offline'; readonly error: string }
  /** 503/429/5xx: try again no earlier than `retryAfterMs` (null: the caller's backoff). */
  | { readonly kind: 'retry-later'; readonly status: number; readonly retryAfterMs: number | null }
  /** No token, the refresh failed, or the refreshed token was refused: the user must sign in again. */
  | { readonly kind: 'unauthorized' }
  /** 426: this app version is too old for the server; the outbox waits for the update. */
  | { readonly kind: 'update-needed'; readonly message: string }
  /** The server answered something this client cannot use; everything is kept. */
  | { readonly kind: 'failed'; readonly status: number; readonly error: string };

export interface SyncStatus {
  readonly clockOffsetMs: number | null;
  readonly clockSkewWarning: boolean;
  readonly lastOutcome: SyncOutcome | null;
  /** Device time of the last round that reached the server and completed its pull. */
  readonly lastSyncedAt: number | null;
}

export interface SyncClientDeps {
  db: LocalDb;
  transport: SyncTransport;
  /** The current access token, or null when signed out. */
  getAccessToken: () => Promise<string | null>;
  /** A fresh access token after a 401, or null when the session is gone. */
  refreshAccessToken: () => Promise<string | null>;
  /** Device clock, ms. */
  now: () => number;
  /** Entries per push, ≤ 500, for every lane (default: 100 on the user lane, 500 on the others). */
  batchSize?: number;
  maxBatchBytes?: number;
  /** Changes per pull page (default 5,000, the protocol's maximum). */
  pullLimit?: number;
}

export interface SyncClient {
  /** One round; concurrent calls share the round in flight. Never throws for network or server trouble. */
  syncOnce(): Promise<SyncOutcome>;
  readonly status: SyncStatus;
  /** Called after every round; returns the unsubscribe function. */
  subscribe(listener: (status: SyncStatus) => void): () => void;
}

/** How a request ended, before its body is looked at. */
type Exchange =
  | {
      readonly ok: true;
      readonly res: TransportResponse;
      readonly sentAt: number;
      readonly receivedAt: number;
    }
  | { readonly ok: false; readonly outcome: SyncOutcome; readonly keepGoing: boolean };

export function createSyncClient(deps: SyncClientDeps): SyncClient {
  const { db, transport, now } = deps;
  const batchSize = (lane: Lane) => Math.min(deps.batchSize ?? LANE_BATCH[lane], MAX_PUSH_BATCH);
  const maxBatchBytes = deps.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const listeners = new Set<(status: SyncStatus) => void>();
  let status: SyncStatus = {
    clockOffsetMs: null,
    clockSkewWarning: false,
    lastOutcome: null,
    lastSyncedAt: null,
  };
  let inFlight: Promise<SyncOutcome> | null = null;

  const everyTable = (): Table[] => [
    ...db.syncedTables(),
    db.outbox,
    db.bases,
    db.meta,
    db.rejections,
    db.samples,
  ];

  function setStatus(next: Partial<SyncStatus>): void {
    status = { ...status, ...next };
  }

  function noteClock(sentAt: number, receivedAt: number, serverTime: number): number {
    const offset = Math.round(serverTime - (sentAt + receivedAt) / 2);
    setStatus({ clockOffsetMs: offset, clockSkewWarning: Math.abs(offset) > CLOCK_SKEW_WARNING_MS });
    return offset;
  }

  /** Tokens for one round: a 401 refreshes once, and the refreshed token serves the rest of the round. */
  function createSession() {
    let token: string | null | undefined;
    let refreshed = false;
    return {
      async token(): Promise<string | null> {
        token ??= await deps.getAccessToken();
        return token;
      },
      async refresh(): Promise<string | null> {
        if (refreshed) return null;
        refreshed = true;
        token = await deps.refreshAccessToken();
        return token;
      },
    };
  }
  type Session = ReturnType<typeof createSession>;

  async function exchange(
    session: Session,
    call: (token: string) => Promise<TransportResponse>,
  ): Promise<Exchange> {
    try {
      let token = await session.token();
      if (token === null) return { ok: false, outcome: { kind: 'unauthorized' }, keepGoing: false };
      let sentAt = now();
      let res = await call(token);
      if (res.status === 401) {
        token = await session.refresh();
        if (token === null) return { ok: false, outcome: { kind: 'unauthorized' }, keepGoing: false };
        sentAt = now();
        res = await call(token);
        if (res.status === 401) return { ok: false, outcome: { kind: 'unauthorized' }, keepGoing: false };
      }
      if (res.status >= 200 && res.status < 300) return { ok: true, res, sentAt, receivedAt: now() };
      return {
        ok: false,
        outcome: outcomeOfStatus(res, now()),
        keepGoing: res.status < 500 && res.status !== 429 && res.status !== 426,
      };
    } catch (error) {
      return { ok: false, outcome: { kind: 'offline', error: describe(error) }, keepGoing: false };
    }
  }

  async function nextBatch(skip: ReadonlySet<Lane>): Promise<OutboxEntry[]> {
    for (const lane of LANES) {
      if (skip.has(lane)) continue;
      const entries = await db.outbox
        .where('[lane+seq]')
        .between([lane, Dexie.minKey], [lane, Dexie.maxKey])
        .limit(batchSize(lane))
        .toArray();
      if (entries.length === 0) continue;
      let bytes = 0;
      let count = 0;
      for (const entry of entries) {
        bytes += JSON.stringify(entry.args).length + 120;
        if (count > 0 && bytes > maxBatchBytes) break;
        count += 1;
      }
      return entries.slice(0, count);
    }
    return [];
  }

  async function noteFailure(entries: readonly OutboxEntry[], error: string): Promise<void> {
    const first = entries[0];
    const last = entries.at(-1);
    if (first === undefined || last === undefined) return;
    await db.outbox
      .where('[lane+seq]')
      .between([first.lane, first.seq], [last.lane, last.seq], true, true)
      .modify((entry) => {
        entry.attempts += 1;
        entry.lastError = error;
      });
  }

  /** Pushes one batch. Returns the number of entries it cleared, or how the round must end. */
  async function pushBatch(
    session: Session,
    clientId: string,
    entries: readonly OutboxEntry[],
  ): Promise<{ cleared: number } | { failed: SyncOutcome; keepGoing: boolean }> {
    const lane = entries[0]?.lane ?? 'critical';
    const request: PushRequest = {
      protocolVersion: PROTOCOL_VERSION,
      clientId,
      lane,
      sentAt: now(),
      mutations: entries.map((e) => ({
        seq: e.seq,
        name: e.name,
        args: e.args,
        hlc: e.hlc,
        createdAt: e.createdAt,
      })),
    };
    const ex = await exchange(session, (token) => transport.push(request, token));
    if (!ex.ok) {
      await noteFailure(entries, describeOutcome(ex.outcome));
      return { failed: ex.outcome, keepGoing: ex.keepGoing };
    }
    const parsed = PushResponse.safeParse(ex.res.body);
    if (!parsed.success || parsed.data.lane !== lane) {
      const failed: SyncOutcome = { kind: 'failed', status: ex.res.status, error: 'malformed push response' };
      await noteFailure(entries, failed.error);
      return { failed, keepGoing: false };
    }
    const response = parsed.data;
    const cleared = await db.transaction('rw', everyTable(), async () => {
      const acks: Array<{ refs: readonly RowRef[]; status: AckStatus }> = [];
      const settle = async (entry: OutboxEntry, result: MutationResult | { status: 'dup' }) => {
        await db.outbox.delete(entry.key);
        acks.push({ refs: entry.refs, status: result.status });
        if (result.status === 'rejected') {
          await db.rejections.add({
            lane,
            seq: entry.seq,
            name: entry.name,
            args: entry.args,
            code: result.code,
            message: result.message,
            at: now(),
            createdAt: entry.createdAt,
          });
        }
        if (entry.lane === 'bulk') await db.samples.bulkDelete(sampleIds(entry.args));
      };
      for (const result of response.results) {
        const entry = await db.outbox.where('[lane+seq]').equals([lane, result.seq]).first();
        if (entry !== undefined) await settle(entry, result);
      }
      // Seqs at or below lastSeq that the server did not mention were processed by an earlier request.
      const stale = await db.outbox
        .where('[lane+seq]')
        .between([lane, Dexie.minKey], [lane, response.lastSeq], true, true)
        .toArray();
      for (const entry of stale) await settle(entry, { status: 'dup' });

      const meta = await readMeta(db, ['userId', `lastAckedSeq:${lane}`, `nextSeq:${lane}`]);
      const acked = Math.max(meta[`lastAckedSeq:${lane}`] ?? 0, response.lastSeq);
      const nextSeq = Math.max(meta[`nextSeq:${lane}`] ?? 1, acked + 1);
      await db.meta.bulkPut([
        metaRow(`lastAckedSeq:${lane}`, acked),
        metaRow(`nextSeq:${lane}`, nextSeq),
        metaRow('clockOffsetMs', noteClock(ex.sentAt, ex.receivedAt, response.serverTime)),
      ]);
      await settleAcks(db, acks, meta.userId);
      return acks.length;
    });
    if (cleared === 0) {
      // The server stopped before our first seq (a gap): this lane cannot move until someone looks.
      const failed: SyncOutcome = {
        kind: 'failed',
        status: ex.res.status,
        error: `lane ${lane} is stuck at seq ${response.lastSeq}`,
      };
      await noteFailure(entries, failed.error);
      return { failed, keepGoing: true };
    }
    return { cleared };
  }

  async function push(session: Session, clientId: string) {
    let pushed = 0;
    const stuck = new Set<Lane>();
    for (;;) {
      const entries = await nextBatch(stuck);
      const lane = entries[0]?.lane;
      if (lane === undefined) return { pushed, stuck: [...stuck] };
      const result = await pushBatch(session, clientId, entries);
      if ('cleared' in result) pushed += result.cleared;
      else if (result.keepGoing) stuck.add(lane);
      else return { outcome: result.failed };
    }
  }

  async function pull(
    session: Session,
    clientId: string,
  ): Promise<{ pulled: number } | { outcome: SyncOutcome }> {
    let cursor = (await readMeta(db, ['cursor'])).cursor ?? 0;
    let resetting = false;
    const seen = new Set<string>();
    let pulled = 0;
    for (;;) {
      const request: PullRequest = {
        protocolVersion: PROTOCOL_VERSION,
        clientId,
        cursor,
        limit: deps.pullLimit ?? DEFAULT_PULL_LIMIT,
      };
      const ex = await exchange(session, (token) => transport.pull(request, token));
      if (!ex.ok) return { outcome: ex.outcome };
      const parsed = PullResponse.safeParse(ex.res.body);
      if (!parsed.success)
        return { outcome: { kind: 'failed', status: ex.res.status, error: 'malformed pull response' } };
      const page = parsed.data;
      const rows = parseRows(page.changes);
      if (rows === null)
        return {
          outcome: { kind: 'failed', status: ex.res.status, error: 'pulled row does not match its table' },
        };
      // Only a page that starts a rebuild may move the cursor back; any other unfinished page must advance it.
      if (!page.complete && page.cursor <= cursor && !page.reset) {
        return { outcome: { kind: 'failed', status: ex.res.status, error: 'pull made no progress' } };
      }
      if (page.reset) {
        // Every reset page starts a rebuild from version 0 (e.g. the horizon passed our cursor between two pages
        // of an earlier one): what earlier pages showed may be gone since, so forget it.
        resetting = true;
        seen.clear();
      }

      await db.transaction('rw', everyTable(), async () => {
        const pending = await pendingRefs(db);
        const meta = await readMeta(db, ['userId', 'hlc']);
        const rebuild: string[] = [];
        let clock = parseHlc(meta.hlc ?? '') ?? HLC_ZERO;
        let clockMoved = false;
        const at = now() + (status.clockOffsetMs ?? 0);
        for (const { ref, row } of rows) {
          if (row !== null) {
            seen.add(ref);
            const hlc = 'hlc' in row && typeof row.hlc === 'string' ? parseHlc(row.hlc) : null;
            if (hlc !== null) {
              clock = receiveHlc(clock, hlc, at);
              clockMoved = true;
            }
          }
          if (await applyServerChange(db, ref, row, pending)) rebuild.push(ref);
        }
        if (resetting && page.complete) {
          for (const ref of await localRefs(db, SYNCED_TABLE_NAMES)) {
            if (!seen.has(ref) && (await applyServerChange(db, ref, null, pending))) rebuild.push(ref);
          }
        }
        if (rebuild.length > 0) await rebuildRows(db, rebuild, meta.userId);
        if (page.complete) await settleAfterPull(db, meta.userId);
        const writes = [metaRow('clockOffsetMs', noteClock(ex.sentAt, ex.receivedAt, page.serverTime))];
        if (!resetting || page.complete) writes.push(metaRow('cursor', page.cursor));
        if (clockMoved) writes.push(metaRow('hlc', formatHlc(clock, clientId)));
        await db.meta.bulkPut(writes);
      });
      pulled += page.changes.length;
      cursor = page.cursor;
      if (page.complete) return { pulled };
    }
  }

  async function round(): Promise<SyncOutcome> {
    const session = createSession();
    const clientId = await db.transaction('rw', db.meta, () => ensureClientId(db));
    const pushed = await push(session, clientId);
    if ('outcome' in pushed) return pushed.outcome;
    const pulled = await pull(session, clientId);
    if ('outcome' in pulled) return pulled.outcome;
    setStatus({ lastSyncedAt: now() });
    return { kind: 'ok', pushed: pushed.pushed, pulled: pulled.pulled, stuckLanes: pushed.stuck };
  }

  return {
    syncOnce() {
      inFlight ??= round()
        .then((outcome) => {
          setStatus({ lastOutcome: outcome });
          for (const listener of listeners) listener(status);
          return outcome;
        })
        .finally(() => {
          inFlight = null;
        });
      return inFlight;
    },
    get status() {
      return status;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Each change as a row ref and the validated row (null for a tombstone); null if any row is malformed. */
function parseRows(changes: readonly Change[]): Array<{ ref: RowRef; row: SyncedRow | null }> | null {
  const out: Array<{ ref: RowRef; row: SyncedRow | null }> = [];
  for (const change of changes) {
    if (change.op === 'del') {
      out.push({ ref: rowRef(change.table, change.id), row: null });
      continue;
    }
    const parsed = ROW_SCHEMAS[change.table].safeParse(change.row);
    if (!parsed.success) return null;
    out.push({ ref: rowRef(change.table, parsed.data.id), row: parsed.data });
  }
  return out;
}

function outcomeOfStatus(res: TransportResponse, now: number): SyncOutcome {
  if (res.status === 503 || res.status === 429 || res.status >= 500) {
    return { kind: 'retry-later', status: res.status, retryAfterMs: parseRetryAfter(res.retryAfter, now) };
  }
  const message = errorMessage(res.body) ?? `HTTP ${res.status}`;
  if (res.status === 426) return { kind: 'update-needed', message };
  return { kind: 'failed', status: res.status, error: message };
}

/** `Retry-After: <seconds>` or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function errorMessage(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const code = 'error_code' in body && typeof body.error_code === 'string' ? body.error_code : null;
  const message = 'message' in body && typeof body.message === 'string' ? body.message : null;
  return code === null ? message : `${code}${message === null ? '' : `: ${message}`}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeOutcome(outcome: SyncOutcome): string {
  switch (outcome.kind) {
    case 'offline':
      return `offline: ${outcome.error}`;
    case 'retry-later':
      return `HTTP ${outcome.status}, retry later`;
    case 'unauthorized':
      return 'unauthorized';
    case 'update-needed':
      return `update needed: ${outcome.message}`;
    case 'failed':
      return outcome.error;
    case 'ok':
      return 'ok';
  }
}

function sampleIds(args: unknown): string[] {
  if (typeof args !== 'object' || args === null || !('ids' in args) || !Array.isArray(args.ids)) return [];
  return args.ids.filter((id): id is string => typeof id === 'string');
}

export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/**
 * Runs `fn` while holding the origin-wide Web Lock `vitalwatch-sync`, shared by every window and the service
 * worker, so one context syncs at a time and the others wait their turn (they only write meanwhile). Without Web
 * Locks (Node tests) it runs `fn` directly.
 */
export function runAsLeader<T>(
  fn: () => Promise<T>,
  locks: LockManagerLike | undefined = webLocks(),
): Promise<T> {
  return locks === undefined ? fn() : locks.request('vitalwatch-sync', fn);
}

function webLocks(): LockManagerLike | undefined {
  return typeof navigator !== 'undefined' && 'locks' in navigator ? navigator.locks : undefined;
}
