/**
 * One sync round (`syncOnce`): push the outbox lane by lane, then pull until complete.
 *
 * Push: the oldest entries of the first non-empty lane in the order critical → user → bulk, one lane per request;
 * the lanes are re-checked before every batch. A batch holds ≤ 1,000 entries and ≤ 512 KiB of JSON; a bulk batch
 * also ≤ what the link moves in BULK_PUSH_TARGET_MS (measured on earlier bulk pushes; ≥ 16 KiB, at least one
 * entry), so a critical push sent meanwhile queues behind few bytes on a slow link.
 *
 * The critical lane does not wait for the request in flight: a critical entry committed while the round waits
 * for a user or bulk push or a pull page (any context's commit: Dexie's `storagemutated` event) goes out at once
 * on its own request, alongside. The critical lane is never pushed twice at once (one drain per round), the round
 * ends only after it, and a failure it meets ends the round as its own would. An acknowledgement is applied only
 * while no pull page is in flight: a page whose snapshot may predate the push's commit is applied first, with
 * the entry still pending, so it cannot confirm or undo it (the next page, or the next round's pull, confirms it).
 *
 * Every acknowledged seq (ok, dup, rejected) leaves the outbox at once; rejected ones, and dups of rejected ones
 * (protocol 5), move to `rejections`. A seq at or below the response's `lastSeq` that the push did not carry stays
 * and goes in the next push, whose `dup` tells how it ended. Nothing else ever removes an outbox entry: a network error, a 5xx,
 * a 503 with Retry-After, an expired token (refreshed once and retried; concurrent requests share the refresh)
 * or a refused batch keep it, with `attempts` and `lastError` updated. A batch refused as too large (413) is sent
 * again in halves; a user or bulk batch refused for the account's daily quota (429) leaves its lane alone until
 * Retry-After while the other lanes and the pull go on (SE26).
 *
 * Pull: pages from the stored cursor until `complete`. A change to a row with pending mutations updates that
 * row's base and the row is rebuilt on top of it (pending-rows.ts). A page with `reset` starts a rebuild from
 * version 0: the synced tables are replaced page by page, the rows the server did not send are removed at the
 * last page, and the outbox is kept and re-applied. The cursor moves only when the rebuild is complete, so an
 * interrupted one starts again; continuation pages of a rebuild must come with `reset: false`.
 *
 * Each exchange measures the device's clock offset from `serverTime`; over 10 minutes raises `clockSkewWarning`.
 */
import { Dexie, type ObservabilitySet, type Table } from 'dexie';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import { LANES } from '@vitalwatch/schema/protocol/lane';
import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import { MAX_SKIP_RANGES, type PullRequest } from '@vitalwatch/schema/protocol/pull-request';
import { decodePullPage } from '@vitalwatch/schema/protocol/pull-page';
import { PullResponse, type Change } from '@vitalwatch/schema/protocol/pull-response';
import type { PushRequest } from '@vitalwatch/schema/protocol/push-request';
import { PushResponse, type MutationResult } from '@vitalwatch/schema/protocol/push-response';
import { ROW_SCHEMAS } from '@vitalwatch/schema/protocol/synced-tables';
import { SamplesAppendArgsV2 } from '@vitalwatch/schema/protocol/mutators';
import { sampleIds } from '@vitalwatch/schema/protocol/sample-ids';
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
  createdRow,
  type Ack,
} from './pending-rows.ts';
import type { SyncTransport, TransportResponse } from './transport.ts';

/** The most entries the server takes in one push (PushRequest). */
export const MAX_PUSH_BATCH = 1_000;
/**
 * Default entries per push by lane. A `user` batch holds the account's version lock until it commits, and an SOS
 * pushed meanwhile waits for it: since moods and coping logs apply set-based (ADR 0007), 500 moods hold a trigger
 * ~20–40 ms on Postgres (bench/README.md, 0.5 s before), so user batches are the server's full 1,000 (~75 ms at
 * ~13k moods/s): on a 300 ms link each push saved is worth four times that; a batch of other kinds (contacts,
 * settings) still costs ~5 statements each. Bulk batches take no version lock.
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
/**
 * Uncompressed JSON bytes per push (1,000 moods are ~320 KB, ~45 KB gzipped; the sync routes take 8 MiB); a single
 * larger entry still goes alone.
 */
const DEFAULT_MAX_BATCH_BYTES = 512 * 1024;
/**
 * How long a bulk push may occupy the uplink. A critical push sent alongside queues behind the bulk bytes already
 * sent (a phone's uplink is one FIFO), and its target is one round trip + 150 ms (issue #3).
 */
const BULK_PUSH_TARGET_MS = 100;
/** Bulk JSON bytes per push before the link was measured, and the least a measurement cuts it to. */
const MIN_BULK_BATCH_BYTES = 16 * 1024;
/** A request this small (JSON bytes) costs about a round trip: the quickest one measures the link's latency. */
const SMALL_REQUEST_BYTES = 2 * 1024;
/**
 * While a round pushes the user or bulk lane, a spare connection is opened at most this often (CL15): servers keep
 * an idle connection for about a minute (fastify: 72 s), and a critical push written meanwhile takes it.
 */
const SPARE_CONNECTION_EVERY_MS = 30_000;
/** How long a lane refused for a quota (429) without `Retry-After` waits before it is pushed again. */
const QUOTA_PAUSE_MS = 60 * 60_000;
/** Per entry of a push beyond its args (seq, name, hlc, createdAt, JSON punctuation). */
const ENTRY_OVERHEAD_BYTES = 120;
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
  /** Device clock, ms (also times the exchanges that size bulk pushes). */
  now: () => number;
  /** Entries per push, ≤ 1,000, for every lane (default 1,000). */
  batchSize?: number;
  /** Uncompressed JSON bytes per push, every lane (default 512 KiB); bulk pushes are also sized by time. */
  maxBatchBytes?: number;
  /** Changes per pull page (default 5,000, the protocol's maximum). */
  pullLimit?: number;
}

export interface SyncClient {
  /**
   * One round; concurrent calls share the round in flight. While it runs, a critical entry committed in this
   * database is pushed at once, alongside. Never throws for network or server trouble.
   */
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

/** The oldest entries of one lane, and their JSON size as counted for the byte limits. */
type Batch = { readonly lane: Lane; readonly entries: readonly OutboxEntry[]; readonly bytes: number };

/**
 * A push: the entries it cleared, a batch the server found too large (sent again smaller), or how it failed
 * (`keepGoing`: only its lane is stuck).
 */
type PushResult = { cleared: number } | { split: true } | { failed: SyncOutcome; keepGoing: boolean };

export function createSyncClient(deps: SyncClientDeps): SyncClient {
  const { db, transport, now } = deps;
  /** Entries per push after the server refused a batch as too large (413): halved each time (SE26). */
  const entryCap: Partial<Record<Lane, number>> = {};
  /** Until when (device clock) a lane the server refused for a daily quota (429) is left alone (SE26). */
  const pausedUntil: Partial<Record<Lane, number>> = {};
  const batchSize = (lane: Lane) =>
    Math.min(deps.batchSize ?? LANE_BATCH[lane], MAX_PUSH_BATCH, entryCap[lane] ?? MAX_PUSH_BATCH);
  const maxBatchBytes = deps.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const link = createLinkEstimate();
  const inOrder = createSerialQueue();
  const listeners = new Set<(status: SyncStatus) => void>();
  let status: SyncStatus = {
    clockOffsetMs: null,
    clockSkewWarning: false,
    lastOutcome: null,
    lastSyncedAt: null,
  };
  let inFlight: Promise<SyncOutcome> | null = null;
  let spareOpenedAt = Number.NEGATIVE_INFINITY;
  /** The round in flight, once it knows its client id: a critical write may join it. */
  let current: Round | null = null;

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

  /**
   * Tokens for one round: a 401 refreshes once, and the refreshed token serves the rest of the round. Requests
   * refused at once (a critical push beside a bulk push) share that one refresh.
   */
  function createSession() {
    let token: string | null | undefined;
    let refreshing: Promise<string | null> | undefined;
    return {
      async token(): Promise<string | null> {
        token ??= await deps.getAccessToken();
        return token;
      },
      /** A token other than `refused`, or null when there is none. */
      async refresh(refused: string): Promise<string | null> {
        refreshing ??= deps.refreshAccessToken().then((fresh) => (token = fresh));
        const fresh = await refreshing;
        return fresh === refused ? null : fresh;
      },
    };
  }
  type Session = ReturnType<typeof createSession>;

  interface Round {
    readonly session: Session;
    readonly clientId: string;
    pushed: number;
    readonly stuck: Set<Lane>;
    /** The first failure that ends the round: its own request's, or that of a critical push sent alongside. */
    failure: SyncOutcome | null;
    /** The critical lane's drain in flight; the lane is never pushed twice at once. */
    critical: Promise<void> | null;
  }

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
        token = await session.refresh(token);
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

  /** The first lane, in push order, that has entries and is not in `skip`. */
  async function nextLane(skip: ReadonlySet<Lane>): Promise<Lane | undefined> {
    for (const lane of LANES) {
      if (skip.has(lane)) continue;
      const first = await db.outbox
        .where('[lane+seq]')
        .between([lane, Dexie.minKey], [lane, Dexie.maxKey])
        .first();
      if (first !== undefined) return lane;
    }
    return undefined;
  }

  async function nextBatch(lane: Lane): Promise<Batch> {
    const entries = await db.outbox
      .where('[lane+seq]')
      .between([lane, Dexie.minKey], [lane, Dexie.maxKey])
      .limit(batchSize(lane))
      .toArray();
    const budget = lane === 'bulk' ? link.bulkBudget(maxBatchBytes) : maxBatchBytes;
    let bytes = 0;
    let count = 0;
    for (const entry of entries) {
      const more = JSON.stringify(entry.args).length + ENTRY_OVERHEAD_BYTES;
      if (count > 0 && bytes + more > budget) break;
      bytes += more;
      count += 1;
    }
    return { lane, entries: entries.slice(0, count), bytes };
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

  /** CL15: a spare connection for a critical push that may come while this push is on the link. */
  function keepSpareConnection(): void {
    if (transport.warm === undefined || now() - spareOpenedAt < SPARE_CONNECTION_EVERY_MS) return;
    spareOpenedAt = now();
    // Only an optimisation: a failure here changes nothing (the push itself reports the link's state).
    transport.warm().catch(() => undefined);
  }

  /** Pushes one batch and applies its acknowledgements (in order with the pull's pages). */
  async function pushBatch(r: Round, { lane, entries, bytes }: Batch): Promise<PushResult> {
    const request: PushRequest = {
      protocolVersion: PROTOCOL_VERSION,
      clientId: r.clientId,
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
    if (lane !== 'critical') keepSpareConnection();
    const ex = await exchange(r.session, (token) => transport.push(request, token));
    if (!ex.ok) {
      const { outcome } = ex;
      await noteFailure(entries, describeOutcome(outcome));
      // SE26: a batch over the server's size limits goes again in halves; a single entry over them sticks its lane.
      if (outcome.kind === 'failed' && outcome.status === 413 && entries.length > 1) {
        entryCap[lane] = Math.max(1, Math.floor(entries.length / 2));
        return { split: true };
      }
      // SE26: a quota (429) pauses a user or bulk lane until Retry-After; the rest of the round goes on. An SOS
      // is never refused for a quota, so a 429 there ends the round as any "later" does.
      if (outcome.kind === 'retry-later' && outcome.status === 429 && lane !== 'critical') {
        pausedUntil[lane] = now() + (outcome.retryAfterMs ?? QUOTA_PAUSE_MS);
        return { failed: outcome, keepGoing: true };
      }
      return { failed: outcome, keepGoing: ex.keepGoing };
    }
    link.note(bytes, ex.receivedAt - ex.sentAt, lane);
    const parsed = PushResponse.safeParse(ex.res.body);
    if (!parsed.success || parsed.data.lane !== lane) {
      const failed: SyncOutcome = { kind: 'failed', status: ex.res.status, error: 'malformed push response' };
      await noteFailure(entries, failed.error);
      return { failed, keepGoing: false };
    }
    const response = parsed.data;
    // CL14: the rows the server created as sent, made here, outside the transaction that settles them.
    const created = new Map<number, SyncedRow>();
    if (response.at !== undefined) {
      const { userId } = await readMeta(db, ['userId']);
      const bySeq = new Map(entries.map((e) => [e.seq, e]));
      for (const result of response.results) {
        const entry = bySeq.get(result.seq);
        if (result.status !== 'ok' || result.v === undefined || entry === undefined) continue;
        const row = await createdRow(entry, { version: result.v, at: response.at }, userId);
        if (row !== null) created.set(result.seq, row);
      }
    }
    const cleared = await inOrder(() =>
      db.transaction('rw', everyTable(), async () => {
        const acks: Ack[] = [];
        const skip = new SkipRanges((await readMeta(db, ['skipVersions'])).skipVersions ?? []);
        const settle = async (entry: OutboxEntry, answer: MutationResult) => {
          // A dup of a mutation the server rejected is that rejection, its first answer lost (PU13).
          const result =
            answer.status === 'dup' && answer.rejected !== undefined
              ? { seq: answer.seq, status: 'rejected' as const, ...answer.rejected }
              : answer;
          await db.outbox.delete(entry.key);
          // CL14: a row the server created as sent is confirmed now, and the pulls will leave it out.
          const row = result.status === 'ok' ? created.get(entry.seq) : undefined;
          const confirmed = row !== undefined && skip.add(row.version) ? row : undefined;
          acks.push({ entry, status: result.status, ...(confirmed && { created: confirmed }) });
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
          if (entry.lane === 'bulk') await db.samples.bulkDelete(pendingSampleIds(entry));
        };
        for (const result of response.results) {
          const entry = await db.outbox.where('[lane+seq]').equals([lane, result.seq]).first();
          if (entry !== undefined) await settle(entry, result);
        }
        // Seqs at or below lastSeq that this push did not carry were processed by an earlier request whose answer
        // was lost. They stay, and go in the next push, whose `dup` says whether each was applied or rejected
        // (CL16): clearing them here would hide a rejection from the user.

        const meta = await readMeta(db, ['userId', `lastAckedSeq:${lane}`, `nextSeq:${lane}`]);
        const acked = Math.max(meta[`lastAckedSeq:${lane}`] ?? 0, response.lastSeq);
        const nextSeq = Math.max(meta[`nextSeq:${lane}`] ?? 1, acked + 1);
        await db.meta.bulkPut([
          metaRow(`lastAckedSeq:${lane}`, acked),
          metaRow(`nextSeq:${lane}`, nextSeq),
          metaRow('clockOffsetMs', noteClock(ex.sentAt, ex.receivedAt, response.serverTime)),
          metaRow('skipVersions', skip.ranges),
        ]);
        await settleAcks(db, acks, meta.userId);
        return acks.length;
      }),
    );
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

  function record(r: Round, lane: Lane, result: PushResult): void {
    if ('split' in result) return;
    if ('cleared' in result) r.pushed += result.cleared;
    else if (result.keepGoing) r.stuck.add(lane);
    else r.failure ??= result.failed;
  }

  /** Pushes the critical lane until it is empty; a call while that runs joins it. */
  function pushCritical(r: Round): Promise<void> {
    r.critical ??= drainCritical(r).finally(() => {
      r.critical = null;
    });
    return r.critical;
  }

  async function drainCritical(r: Round): Promise<void> {
    try {
      while (r.failure === null && !r.stuck.has('critical')) {
        const batch = await nextBatch('critical');
        if (batch.entries.length === 0) return;
        record(r, 'critical', await pushBatch(r, batch));
      }
    } catch (error) {
      // Run beside the round's own request, nobody awaits this at once: the round ends with the error instead.
      r.failure ??= { kind: 'failed', status: 0, error: describe(error) };
    }
  }

  /** Any context's commit that wrote the outbox, while a round runs: a critical entry goes at once. */
  const outboxWritten = `idb://${db.name}/outbox/[lane+seq]`;
  function onStorageMutated(parts: ObservabilitySet): void {
    const r = current;
    // Fired inside the committing transaction's zone: the push must not run in it.
    if (r !== null && outboxWritten in parts) void Dexie.ignoreTransaction(() => pushCritical(r));
  }

  async function push(r: Round): Promise<void> {
    while (r.failure === null) {
      const lane = await nextLane(r.stuck);
      if (lane === undefined) return;
      if (lane === 'critical') await pushCritical(r);
      else record(r, lane, await pushBatch(r, await nextBatch(lane)));
    }
  }

  /**
   * Pulls until complete (or until `r.failure` ends the round); returns the number of changes. Each page, from
   * its request to its commit, runs in order with the acknowledgements of pushes (`inOrder`).
   */
  async function pull(r: Round): Promise<number> {
    let cursor = (await readMeta(db, ['cursor'])).cursor ?? 0;
    let resetting = false;
    const seen = new Set<string>();
    let pulled = 0;
    const fail = (outcome: SyncOutcome) => {
      r.failure ??= outcome;
      return null;
    };
    for (;;) {
      const skip = resetting ? [] : ((await readMeta(db, ['skipVersions'])).skipVersions ?? []);
      const request: PullRequest = {
        protocolVersion: PROTOCOL_VERSION,
        clientId: r.clientId,
        cursor,
        limit: deps.pullLimit ?? DEFAULT_PULL_LIMIT,
        ...(skip.length > 0 && { skip }),
      };
      const applied = await inOrder(async () => {
        const ex = await exchange(r.session, (token) => transport.pull(request, token));
        if (!ex.ok) return fail(ex.outcome);
        link.note(JSON.stringify(request).length, ex.receivedAt - ex.sentAt, null);
        const parsed = PullResponse.safeParse(ex.res.body);
        if (!parsed.success) {
          return fail({ kind: 'failed', status: ex.res.status, error: 'malformed pull response' });
        }
        // Columnar on the wire (SPEC PL10); the changes come back in version order.
        const page = decodePullPage(parsed.data);
        const rows = parseRows(page.changes);
        if (rows === null) {
          return fail({
            kind: 'failed',
            status: ex.res.status,
            error: 'pulled row does not match its table',
          });
        }
        // Only a page that starts a rebuild may move the cursor back; any other unfinished page must advance it.
        if (!page.complete && page.cursor <= cursor && !page.reset) {
          return fail({ kind: 'failed', status: ex.res.status, error: 'pull made no progress' });
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
          // The rows up to a complete page's cursor are settled, a rebuild's included. An unfinished rebuild keeps
          // the skipped versions: a device at cursor 0 still holds its own rows, and only naming them makes its
          // next pull a reset again (PL11) rather than a pull "from nothing", without tombstones.
          if (page.complete) {
            const { skipVersions = [] } = await readMeta(db, ['skipVersions']);
            writes.push(
              metaRow(
                'skipVersions',
                skipVersions.filter(([, to]) => to > page.cursor),
              ),
            );
          }
          if (clockMoved) writes.push(metaRow('hlc', formatHlc(clock, r.clientId)));
          await db.meta.bulkPut(writes);
        });
        return page;
      });
      if (applied === null) return pulled;
      pulled += applied.changes.length;
      cursor = applied.cursor;
      if (applied.complete || r.failure !== null) return pulled;
    }
  }

  async function round(): Promise<SyncOutcome> {
    const session = createSession();
    const clientId = await db.transaction('rw', db.meta, () => ensureClientId(db));
    // A lane paused for a quota stays in the outbox and counts as stuck until its time comes.
    const paused = LANES.filter((lane) => (pausedUntil[lane] ?? Number.NEGATIVE_INFINITY) > now());
    const r: Round = { session, clientId, pushed: 0, stuck: new Set(paused), failure: null, critical: null };
    current = r;
    Dexie.on.storagemutated.subscribe(onStorageMutated);
    let pulled = 0;
    try {
      await push(r);
      if (r.failure === null) pulled = await pull(r);
    } finally {
      current = null;
      Dexie.on.storagemutated.unsubscribe(onStorageMutated);
      // A critical push sent alongside belongs to this round: the round (and its leader lock) outlives it.
      await r.critical;
    }
    if (r.failure !== null) return r.failure;
    setStatus({ lastSyncedAt: now() });
    return { kind: 'ok', pushed: r.pushed, pulled, stuckLanes: [...r.stuck] };
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

/**
 * What the client knows of its link, for sizing bulk pushes by time rather than bytes: the quickest exchange of a
 * small request (a round trip plus the server's quickest answer) and the JSON bytes per ms the last bulk push
 * moved beyond that. Server time counts as link time, so the estimate errs low: smaller pushes, never larger.
 */
function createLinkEstimate() {
  let quickestMs = Number.POSITIVE_INFINITY;
  let bulkBytesPerMs: number | null = null;
  return {
    note(requestBytes: number, elapsedMs: number, lane: Lane | null): void {
      if (requestBytes <= SMALL_REQUEST_BYTES) quickestMs = Math.min(quickestMs, elapsedMs);
      const onLink = elapsedMs - quickestMs;
      if (lane === 'bulk' && onLink > 0 && Number.isFinite(onLink)) bulkBytesPerMs = requestBytes / onLink;
    },
    bulkBudget(maxBytes: number): number {
      if (bulkBytesPerMs === null) return Math.min(MIN_BULK_BATCH_BYTES, maxBytes);
      return Math.min(maxBytes, Math.max(MIN_BULK_BATCH_BYTES, bulkBytesPerMs * BULK_PUSH_TARGET_MS));
    },
  };
}

/** Runs tasks one at a time, in the order they were handed in. */
function createSerialQueue() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
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

/** The local `samples` rows a bulk entry holds: `@1` names their ids, `@2`'s derive from its batch id (CF13). */
function pendingSampleIds(entry: OutboxEntry): string[] {
  const { args } = entry;
  if (entry.name === 'samples.append@2') {
    const parsed = SamplesAppendArgsV2.safeParse(args);
    return parsed.success ? sampleIds(parsed.data.id, parsed.data.t0, parsed.data.dt) : [];
  }
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

/**
 * The versions a pull may leave out (CL14), as few inclusive ranges as the versions allow. Only versions the server
 * named are ever covered: two ranges merge only when they touch, never across a gap.
 */
class SkipRanges {
  readonly ranges: Array<[number, number]>;
  constructor(ranges: ReadonlyArray<[number, number]>) {
    this.ranges = ranges.map(([from, to]) => [from, to]);
  }

  /** Adds `v`; false when that would take more ranges than a pull may carry (the row is then pulled back). */
  add(v: number): boolean {
    const last = this.ranges.at(-1);
    if (last !== undefined && last[1] + 1 === v) last[1] = v;
    else if (last !== undefined && last[0] <= v && v <= last[1]) return true;
    else if (this.ranges.length < MAX_SKIP_RANGES) this.ranges.push([v, v]);
    else return false;
    return true;
  }
}
