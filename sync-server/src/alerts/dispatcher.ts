/**
 * Alert delivery's durable queue (ADR 0010): the ledger `alert_logs` is the queue. Planning (plan-incidents.ts,
 * alert-plan.ts) inserts one row per contact × channel × message under a unique idempotency key; a row with
 * status `pending` and `next_attempt_at` in the past is a job. The same code runs on PGlite and on Postgres, on
 * one instance or many:
 *
 * 1. Claim: `FOR UPDATE SKIP LOCKED` picks due rows, and the claim (a lease and `attempts + 1`) commits BEFORE
 *    the provider is called. A crash after that leaves the lease to expire.
 * 2. Send, outside any transaction.
 * 3. Record the provider's answer (its first status, since Twilio sends no callback for it), clear the lease
 *    (record-results.ts).
 *
 * A row claimed again after its lease expired is "in doubt": the process died (or the provider timed out)
 * between 1 and 3. For SMS the provider is asked first whether it has that exact message (Twilio's message list
 * by recipient and day), so a kill -9 at any moment neither loses nor repeats a text. A transient SMS failure is
 * treated the same way, because a timeout can hide a send that happened. Web Push and realtime are re-sent: the
 * push service replaces a message with the same Topic and the notification's tag collapses repeats.
 *
 * Work is done in batches, so a disaster burst (a thousand incidents in seconds) costs a few statements per
 * round, not a few per incident (SPEC AL21): the incidents that became due since the last claim are planned
 * together, `PLAN_BATCH` to a transaction, and provider answers are recorded as a group commit (gathered for
 * `RECORD_GATHER_MS`, then whatever arrived while a write ran). A batch that fails is split in halves down to the
 * single incident or answer, so one bad row cannot hold up the others.
 *
 * Every ledger write takes the user's next version, so the change reaches the user's devices by pull and poke.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import type { MessageKind } from './alert-plan.ts';
import type { FoundMessage, SendResult } from './channel.ts';
import { planIncidents } from './plan-incidents.ts';
import { recordResults, type ClaimedRow, type SendOutcome } from './record-results.ts';

export type SmsProvider = {
  /** Stored in `alert_logs.provider`, with the provider's message id unique under it. */
  name: string;
  send(to: string, body: string): Promise<SendResult>;
  /** The message with exactly this body sent to `to` since `since`, if the provider has it. */
  findSent(to: string, body: string, since: Date): Promise<FoundMessage | null>;
};

/** What a notification or realtime message carries. */
export type AlertPayload = {
  kind: MessageKind;
  incidentId: string;
  title: string;
  body: string;
  /** The contact's `/a/<token>` page; null without PUBLIC_URL. */
  url: string | null;
  /**
   * The token the contact's device posts back once the alert is on screen (receipt-routes.ts); absent from rows
   * planned before receipts existed.
   */
  receipt?: string;
};

export type PushSender = {
  sendToUser(
    userId: string,
    payload: AlertPayload,
    options: { topic: string; ttlSeconds: number },
  ): Promise<SendResult>;
};

export type RealtimeSender = {
  name: string;
  broadcast(userId: string, payload: AlertPayload): Promise<SendResult>;
};

export type AlertChannels = {
  /** null: no SMS provider configured; SMS rows are recorded as `not_configured`, nothing pretends to send. */
  sms: SmsProvider | null;
  webPush: PushSender | null;
  realtime: RealtimeSender | null;
};

export type DispatcherOptions = {
  db: Db;
  channels: AlertChannels;
  pokes: Pokes;
  now?: () => Date;
  /** Our public origin, for the `/a/<token>` links; null = alerts carry no link. */
  publicUrl: string | null;
  leaseMs?: number;
  maxAttempts?: number;
  /** Provider calls in flight at once. */
  concurrency?: number;
  /** How long an acknowledgement link works. */
  linkTtlMs?: number;
  /** How often every live incident is planned again (timers, other instances' pushes, restarts). */
  fullScanMs?: number;
  smsLocationEveryMs?: number;
  log?: { error(error: unknown, message: string): void };
};

/** What the dispatcher has done since it was created: the bench's breakdown of where a burst's time goes. */
export type DispatchStats = {
  /** Planning transactions, the incidents they planned, and the wall time they took. */
  planBatches: number;
  incidentsPlanned: number;
  planMs: number;
  claims: number;
  claimMs: number;
  /** Provider calls, and their summed duration (they overlap, up to `concurrency` at once). */
  sends: number;
  sendMs: number;
  /** Recording transactions, the answers they recorded, and their wall time (one at a time). */
  recordBatches: number;
  recorded: number;
  recordMs: number;
};

const LIVE_FOR_MS = 60 * 60_000;
const DURESS_LIVE_FOR_MS = 24 * 60 * 60_000;
/** Incidents per planning transaction: bounds how long one transaction holds its users' version locks. */
const PLAN_BATCH = 500;
/** Provider answers per recording transaction. */
const RECORD_BATCH = 500;
/**
 * How long the first answer of a group waits for others before they are recorded together. It delays only the
 * ledger's status (the text has gone), and in a burst it turns a transaction per answer into one per group.
 */
const RECORD_GATHER_MS = 50;
/** Rows claimed ahead of the provider calls, in multiples of `concurrency`. */
const CLAIM_AHEAD = 4;
/** While messages are being sent, what became due meanwhile is planned and claimed at least this often. */
const REPLAN_MS = 200;
/** An incident whose planning failed is tried again after this long (not in a tight loop). */
const PLAN_RETRY_MS = 1_000;

/** 1 s, 2 s, 4 s … up to 5 min, with ±20 % jitter so a burst of failures does not retry in lockstep. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(1000 * 2 ** Math.max(0, attempt - 1), 300_000);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Push services take a Topic of at most 32 base64url characters; one per message, so a re-send replaces. */
function pushTopic(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 32);
}

export type AlertDispatcher = ReturnType<typeof createAlertDispatcher>;

export function createAlertDispatcher(options: DispatcherOptions) {
  const { db, channels, pokes } = options;
  const now = options.now ?? (() => new Date());
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 8;
  const concurrency = options.concurrency ?? 32;
  const linkTtlMs = options.linkTtlMs ?? 7 * 24 * 60 * 60_000;
  const fullScanMs = options.fullScanMs ?? 5_000;
  const log = options.log ?? { error: (error, message) => console.error(message, error) };

  const dirtyUsers = new Set<string>();
  const dirtyIncidents = new Set<string>();
  const wakeAt = new Map<string, number>();
  let lastFullScan = -Infinity;
  const stats: DispatchStats = {
    planBatches: 0,
    incidentsPlanned: 0,
    planMs: 0,
    claims: 0,
    claimMs: 0,
    sends: 0,
    sendMs: 0,
    recordBatches: 0,
    recorded: 0,
    recordMs: 0,
  };

  /** Plans a batch of incidents in one transaction and writes the outcome; remembers when each changes next. */
  async function planBatch(incidentIds: readonly string[]): Promise<void> {
    const started = performance.now();
    const at = now();
    const planned = await db.transaction((tx) =>
      planIncidents(tx, incidentIds, {
        channels,
        publicUrl: options.publicUrl,
        linkTtlMs,
        smsLocationEveryMs: options.smsLocationEveryMs,
        at,
      }),
    );
    for (const id of incidentIds) {
      const next = planned.wakeAt.get(id) ?? null;
      if (next === null) wakeAt.delete(id);
      else wakeAt.set(id, next.getTime());
    }
    for (const [userId, version] of planned.versions) pokes.publish(userId, version);
    stats.planBatches += 1;
    stats.incidentsPlanned += incidentIds.length;
    stats.planMs += performance.now() - started;
  }

  async function plan(incidentIds: readonly string[]): Promise<void> {
    for (let i = 0; i < incidentIds.length; i += PLAN_BATCH) {
      await writeSplitting(incidentIds.slice(i, i + PLAN_BATCH), planBatch, (id, error) => {
        wakeAt.set(id, now().getTime() + PLAN_RETRY_MS);
        log.error(error, `alerts: planning incident ${id} failed; will retry`);
      });
    }
  }

  async function liveIncidents(): Promise<string[]> {
    const at = now();
    const rows = await queryRows<{ id: string }>(
      db,
      sql`select id from emergency_incidents
          where status in ('active', 'acknowledged')
             or (status = 'cancelled' and silent_escalation
                 and received_at > ${new Date(at.getTime() - DURESS_LIVE_FOR_MS).toISOString()}::timestamptz)
             or (status in ('resolved', 'cancelled')
                 and updated_at > ${new Date(at.getTime() - LIVE_FOR_MS).toISOString()}::timestamptz)`,
    );
    return rows.map((r) => r.id);
  }

  async function usersIncidents(userIds: readonly string[]): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      db,
      sql`select id from emergency_incidents where user_id = any(${sql.param(userIds)}::uuid[])
          and (status in ('active', 'acknowledged') or silent_escalation
               or updated_at > ${new Date(now().getTime() - LIVE_FOR_MS).toISOString()}::timestamptz)`,
    );
    return rows.map((r) => r.id);
  }

  /** Claims up to `limit` due rows; returns them and when their lease ends. */
  async function claim(limit: number): Promise<{ rows: ClaimedRow[]; leaseEndsAt: number }> {
    const started = performance.now();
    const at = now();
    const leaseEndsAt = at.getTime() + leaseMs;
    const rows = await queryRows<ClaimedRow>(
      db,
      sql`with due as (
            select id, lease_until from alert_logs
            where status = 'pending' and next_attempt_at <= ${at.toISOString()}::timestamptz
              and (lease_until is null or lease_until < ${at.toISOString()}::timestamptz)
            order by (message_kind = 'location_update'), next_attempt_at
            limit ${limit}
            for update skip locked)
          update alert_logs a
             set lease_until = ${new Date(leaseEndsAt).toISOString()}::timestamptz,
                 attempts = a.attempts + 1
            from due where a.id = due.id
          returning a.id, a.user_id, a.incident_id, a.channel, a.message_kind, a.to_address, a.body, a.attempts,
                    a.created_at, due.lease_until as previous_lease`,
    );
    stats.claims += 1;
    stats.claimMs += performance.now() - started;
    return { rows, leaseEndsAt };
  }

  async function send(row: ClaimedRow): Promise<SendResult> {
    if (row.channel === 'sms') {
      const sms = channels.sms;
      if (sms === null)
        return { outcome: 'permanent', errorCode: 'not_configured', message: 'No SMS provider.' };
      if (row.previous_lease !== null) {
        const since = row.created_at instanceof Date ? row.created_at : new Date(row.created_at);
        const found = await sms.findSent(row.to_address, row.body, since);
        if (found !== null && found.status !== 'failed' && found.status !== 'undelivered') {
          return { outcome: 'accepted', ...found };
        }
      }
      return sms.send(row.to_address, row.body);
    }
    const payload = JSON.parse(row.body) as AlertPayload;
    if (row.channel === 'web_push') {
      if (channels.webPush === null)
        return { outcome: 'permanent', errorCode: 'not_configured', message: 'No Web Push.' };
      const key = `${row.incident_id}/${row.to_address}/${row.message_kind}/${row.id}`;
      return channels.webPush.sendToUser(row.to_address, payload, {
        topic: pushTopic(key),
        ttlSeconds: 3600,
      });
    }
    if (channels.realtime === null)
      return { outcome: 'permanent', errorCode: 'not_configured', message: 'No realtime.' };
    return channels.realtime.broadcast(row.to_address, payload);
  }

  async function sendOne(row: ClaimedRow): Promise<SendOutcome> {
    const started = performance.now();
    let result: SendResult;
    try {
      result = await send(row);
    } catch (error) {
      result = { outcome: 'transient', errorCode: 'send_error', message: String(error) };
    }
    stats.sends += 1;
    stats.sendMs += performance.now() - started;
    return { row, result };
  }

  async function recordBatch(outcomes: readonly SendOutcome[]): Promise<void> {
    const started = performance.now();
    const at = now();
    const versions = await db.transaction((tx) =>
      recordResults(tx, outcomes, { at, maxAttempts, retryDelayMs }),
    );
    for (const [userId, version] of versions) pokes.publish(userId, version);
    // Results can make more to plan (an all-clear for a message that was in flight when the user became safe).
    for (const { row } of outcomes) dirtyIncidents.add(row.incident_id);
    stats.recordBatches += 1;
    stats.recorded += outcomes.length;
    stats.recordMs += performance.now() - started;
  }

  /** Records provider answers as a group commit (see createGroupWriter). */
  function createRecorder() {
    return createGroupWriter<SendOutcome>(RECORD_BATCH, RECORD_GATHER_MS, (outcomes) =>
      writeSplitting(outcomes, recordBatch, ({ row }, error) =>
        // The row keeps its lease: when it runs out the send is in doubt and checked before any retry.
        log.error(error, `alerts: recording the answer for ${row.id} failed; it is checked again later`),
      ),
    );
  }

  /** Plans every incident that changed or is due by the clock (and all live ones at each full scan). */
  async function planDue(): Promise<void> {
    const at = now().getTime();
    const incidents = new Set(dirtyIncidents);
    dirtyIncidents.clear();
    if (dirtyUsers.size > 0) {
      const users = [...dirtyUsers];
      dirtyUsers.clear();
      try {
        for (const id of await usersIncidents(users)) incidents.add(id);
      } catch (error) {
        for (const userId of users) dirtyUsers.add(userId);
        for (const id of incidents) dirtyIncidents.add(id);
        throw error;
      }
    }
    for (const [id, when] of wakeAt) if (when <= at) incidents.add(id);
    if (at - lastFullScan >= fullScanMs) {
      lastFullScan = at;
      for (const id of await liveIncidents()) incidents.add(id);
    }
    await plan([...incidents]);
  }

  /**
   * Provider calls, `concurrency` at a time, fed from rows claimed ahead (at most `CLAIM_AHEAD` × `concurrency`
   * claimed or in flight); every answer goes to the recorder as it comes. A row that waited past half its lease
   * (providers timing out) is left alone: once the lease ends it is claimed again, in doubt, and checked before
   * any send, whereas sending it now could race that second claim.
   */
  function createSender(recorder: ReturnType<typeof createRecorder>) {
    const waiting: { row: ClaimedRow; leaseEndsAt: number }[] = [];
    const inFlight = new Set<Promise<void>>();
    let finished = 0;
    let progressed = () => {};
    const enough = () => finished >= concurrency || inFlight.size === 0;
    function start() {
      while (inFlight.size < concurrency && waiting.length > 0) {
        const { row, leaseEndsAt } = waiting.shift()!;
        if (now().getTime() > leaseEndsAt - leaseMs / 2) continue;
        const call: Promise<void> = sendOne(row).then((outcome) => {
          inFlight.delete(call);
          recorder.add(outcome);
          finished += 1;
          start();
          if (enough()) progressed();
        });
        inFlight.add(call);
      }
    }
    return {
      room: () => concurrency * CLAIM_AHEAD - waiting.length - inFlight.size,
      busy: () => inFlight.size > 0,
      add(rows: readonly ClaimedRow[], leaseEndsAt: number) {
        finished = 0;
        for (const row of rows) waiting.push({ row, leaseEndsAt });
        start();
      },
      /** Resolves once `concurrency` calls have finished since the last `add`, all have, or `ms` have passed. */
      async progress(ms: number) {
        if (enough()) return;
        const pause = cutShortDelay(ms);
        progressed = pause.cutShort;
        await pause.done;
        progressed = () => {};
      },
      async settled() {
        while (inFlight.size > 0) await Promise.all(inFlight);
      },
    };
  }

  /**
   * Plans what is due and sends until nothing is due; returns how many messages were tried. Planning and claiming
   * go on while messages are being sent (a burst keeps arriving): again whenever `concurrency` calls have finished,
   * and at least every `REPLAN_MS`. Answers are recorded meanwhile; a row being recorded is still leased, so it is
   * never claimed twice.
   */
  async function tick(): Promise<number> {
    let tried = 0;
    const recorder = createRecorder();
    const sender = createSender(recorder);
    try {
      for (;;) {
        await planDue();
        const room = sender.room();
        const { rows, leaseEndsAt } = room > 0 ? await claim(room) : { rows: [], leaseEndsAt: 0 };
        tried += rows.length;
        sender.add(rows, leaseEndsAt);
        if (sender.busy()) {
          await sender.progress(REPLAN_MS);
          continue;
        }
        // Nothing in flight and nothing more due: record at once rather than keep the next wake-up waiting. The
        // answers can make more to plan (an all-clear for a message that was in flight when the user became safe).
        await recorder.flush();
        if (dirtyIncidents.size === 0) return tried;
      }
    } finally {
      await sender.settled();
      await recorder.flush();
    }
  }

  // --- the loop --------------------------------------------------------------------------------------------
  let running = false;
  let wakeUp: (() => void) | null = null;
  let loopDone: Promise<void> = Promise.resolve();

  function wake() {
    wakeUp?.();
  }

  async function loop(pollMs: number) {
    while (running) {
      try {
        await tick();
      } catch (error) {
        log.error(error, 'alerts: dispatch round failed; retrying');
      }
      if (!running) break;
      if (dirtyUsers.size > 0 || dirtyIncidents.size > 0) continue;
      const nextWake = Math.min(...wakeAt.values(), now().getTime() + pollMs);
      const waitMs = Math.max(0, Math.min(pollMs, nextWake - now().getTime()));
      const wait = cutShortDelay(waitMs);
      wakeUp = wait.cutShort;
      await wait.done;
      wakeUp = null;
    }
  }

  return {
    tick,
    /** A copy of the counters, for diagnostics (bench/alert-bench.ts). */
    stats: (): DispatchStats => ({ ...stats }),
    /** A user's synced rows changed (a push committed): plan their live incidents at once. */
    userChanged(userId: string) {
      dirtyUsers.add(userId);
      wake();
    },
    incidentChanged(incidentId: string) {
      dirtyIncidents.add(incidentId);
      wake();
    },
    start(pollMs = 1_000) {
      if (running) return;
      running = true;
      loopDone = loop(pollMs);
    },
    async stop() {
      running = false;
      wake();
      await loopDone;
    },
  };
}

/** A delay that `cutShort` ends at once. */
function cutShortDelay(ms: number): { done: Promise<void>; cutShort: () => void } {
  let cutShort = () => {};
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    cutShort = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, cutShort };
}

/**
 * Group commit: `add` hands an item over without waiting; the first waits up to `gatherMs` for others, and
 * whatever arrives while a write runs is written together next (at most `max` at a time). `flush` ends the wait
 * at once. `write` must not reject.
 */
function createGroupWriter<T>(max: number, gatherMs: number, write: (items: T[]) => Promise<void>) {
  const queue: T[] = [];
  let writing: Promise<void> | null = null;
  let endGathering: (() => void) | null = null;
  async function drain() {
    const gathering = cutShortDelay(gatherMs);
    endGathering = gathering.cutShort;
    await gathering.done;
    endGathering = null;
    while (queue.length > 0) await write(queue.splice(0, max));
    writing = null;
  }
  return {
    add(item: T) {
      queue.push(item);
      writing ??= drain();
    },
    /** Writes what is waiting now; resolves when everything added so far is written. */
    flush(): Promise<void> {
      endGathering?.();
      return writing ?? Promise.resolve();
    },
  };
}

/** Writes the batch; if that fails, each half again, down to single items, which `failed` is told about. */
async function writeSplitting<T>(
  items: readonly T[],
  write: (items: readonly T[]) => Promise<void>,
  failed: (item: T, error: unknown) => void,
): Promise<void> {
  if (items.length === 0) return;
  try {
    await write(items);
  } catch (error) {
    if (items.length === 1) return failed(items[0]!, error);
    const half = Math.ceil(items.length / 2);
    await writeSplitting(items.slice(0, half), write, failed);
    await writeSplitting(items.slice(half), write, failed);
  }
}
