/**
 * Alert delivery's durable queue (ADR 0010): the ledger `alert_logs` is the queue. Planning (alert-plan.ts)
 * inserts one row per contact × channel × message under a unique idempotency key; a row with status `pending`
 * and `next_attempt_at` in the past is a job. The same code runs on PGlite and on Postgres, on one instance or
 * many:
 *
 * 1. Claim: `FOR UPDATE SKIP LOCKED` picks due rows, and the claim (a lease and `attempts + 1`) commits BEFORE
 *    the provider is called. A crash after that leaves the lease to expire.
 * 2. Send, outside any transaction.
 * 3. Record the provider's answer (its first status, since Twilio sends no callback for it), clear the lease.
 *
 * A row claimed again after its lease expired is "in doubt": the process died (or the provider timed out)
 * between 1 and 3. For SMS the provider is asked first whether it has that exact message (Twilio's message list
 * by recipient and day), so a kill -9 at any moment neither loses nor repeats a text. A transient SMS failure is
 * treated the same way, because a timeout can hide a send that happened. Web Push and realtime are re-sent: the
 * push service replaces a message with the same Topic and the notification's tag collapses repeats.
 *
 * Every ledger write takes the user's next version, so the change reaches the user's devices by pull and poke.
 */
import { randomBytes, createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { alertLinks, alertLogs } from '@vitalwatch/schema/db/tables';
import type { AlertStatusEntry } from '@vitalwatch/schema/db/safety';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import type { Db, Tx } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';
import { nextUserVersion } from '../db/user-version.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import { loadAlertFacts, type AlertFacts } from './alert-facts.ts';
import { planAlerts, type MessageKind, type PlannedMessage, type SendChannel } from './alert-plan.ts';
import { alertPush, alertSms, type AlertTextInput } from './alert-text.ts';
import type { AlertStatus, FoundMessage, SendResult } from './channel.ts';

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

type ClaimedRow = {
  id: string;
  user_id: UserId;
  incident_id: string;
  channel: SendChannel;
  message_kind: MessageKind;
  to_address: string;
  body: string;
  attempts: number;
  created_at: Date | string;
  previous_lease: Date | string | null;
};

const LIVE_FOR_MS = 60 * 60_000;
const DURESS_LIVE_FOR_MS = 24 * 60 * 60_000;

/** 1 s, 2 s, 4 s … up to 5 min, with ±20 % jitter so a burst of failures does not retry in lockstep. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(1000 * 2 ** Math.max(0, attempt - 1), 300_000);
  return Math.round(base * (0.8 + 0.4 * random()));
}

function historyEntry(status: AlertStatus, at: Date, errorCode?: string | null): AlertStatusEntry {
  return { status, at: at.toISOString(), ...(errorCode ? { errorCode } : {}) };
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

  function linkFor(facts: AlertFacts, contactId: string): string | null {
    const token = facts.links.get(contactId);
    return options.publicUrl === null || token === undefined ? null : `${options.publicUrl}/a/${token}`;
  }

  function textInput(facts: AlertFacts, kind: MessageKind, contactId: string): AlertTextInput {
    const d = facts.details;
    return {
      kind,
      name: d.userName,
      code: d.code,
      triggeredAt: d.triggeredAt,
      receivedAt: d.receivedAt,
      location: d.location,
      link: linkFor(facts, contactId),
      duress: d.status === 'cancelled' && d.silentEscalation,
    };
  }

  function rowFor(facts: AlertFacts, message: PlannedMessage, version: number, at: Date) {
    const contact = facts.contactDetails.get(message.contactId)!;
    const input = textInput(facts, message.kind, message.contactId);
    const sms = message.channel === 'sms';
    const status: AlertStatus = sms && channels.sms === null ? 'not_configured' : 'pending';
    const unconfiguredApp =
      (message.channel === 'web_push' && channels.webPush === null) ||
      (message.channel === 'realtime' && channels.realtime === null);
    const payload: AlertPayload = {
      kind: message.kind,
      incidentId: facts.details.id,
      ...alertPush(input),
      url: input.link,
    };
    const finalStatus: AlertStatus = unconfiguredApp ? 'not_configured' : status;
    return {
      id: newId(),
      userId: facts.details.userId,
      incidentId: facts.details.id,
      contactId: message.contactId,
      channel: message.channel,
      messageKind: message.kind,
      idempotencyKey: message.key,
      status: finalStatus,
      statusHistory: [historyEntry(finalStatus, at)],
      toAddress: sms ? contact.phoneE164 : contact.contactUserId,
      body: sms ? alertSms(input) : JSON.stringify(payload),
      provider: sms
        ? (channels.sms?.name ?? null)
        : message.channel === 'realtime'
          ? (channels.realtime?.name ?? null)
          : 'web_push',
      nextAttemptAt: finalStatus === 'pending' ? at : null,
      version,
      createdAt: at,
      updatedAt: at,
    };
  }

  /** Plans one incident and writes the outcome; returns when the plan changes by the clock alone. */
  async function planIncident(incidentId: string): Promise<void> {
    const at = now();
    let userId: string | null = null;
    let version: number | null = null;
    await db.transaction(async (tx) => {
      let facts = await loadAlertFacts(tx, incidentId, at, options.smsLocationEveryMs);
      if (facts === null) return;
      userId = facts.details.userId;
      const plan = planAlerts(facts);
      if (plan.wakeAt === null) wakeAt.delete(incidentId);
      else wakeAt.set(incidentId, plan.wakeAt.getTime());

      const deviceRows = deviceSmsChanges(facts);
      const untried = plan.cancelUntried
        ? await queryRows<{ id: string }>(
            tx,
            sql`select id from alert_logs where incident_id = ${incidentId} and status = 'pending'
                and attempts = 0 and message_kind <> 'all_clear' for update`,
          )
        : [];
      if (plan.create.length === 0 && deviceRows.length === 0 && untried.length === 0) return;

      version = await nextUserVersion(tx, facts.details.userId as UserId);
      const needLinks = plan.create.filter(
        (m) => (m.kind === 'alert' || m.kind === 'escalation') && !facts!.links.has(m.contactId),
      );
      if (needLinks.length > 0) {
        await tx
          .insert(alertLinks)
          .values(
            needLinks.map((m) => ({
              token: randomBytes(12).toString('base64url'),
              userId: facts!.details.userId,
              incidentId,
              contactId: m.contactId,
              expiresAt: new Date(at.getTime() + linkTtlMs),
              createdAt: at,
            })),
          )
          .onConflictDoNothing();
        facts = (await loadAlertFacts(tx, incidentId, at, options.smsLocationEveryMs))!;
      }
      if (plan.create.length > 0) {
        await tx
          .insert(alertLogs)
          .values(plan.create.map((m) => rowFor(facts, m, version!, at)))
          .onConflictDoNothing({ target: alertLogs.idempotencyKey });
      }
      for (const row of deviceRows) await upsertDeviceSms(tx, facts, row, version, at);
      for (const { id } of untried) {
        await tx
          .update(alertLogs)
          .set({
            status: 'canceled',
            statusHistory: sql`${alertLogs.statusHistory} || ${JSON.stringify([historyEntry('canceled', at)])}::jsonb`,
            errorMessage: 'The user is safe; this alert was not needed any more.',
            nextAttemptAt: null,
            version: version,
            updatedAt: at,
          })
          .where(eq(alertLogs.id, id));
      }
    });
    if (userId !== null && version !== null) pokes.publish(userId, version);
  }

  type DeviceRow = { contactId: string; status: AlertStatus; at: Date };

  /** The device's own SMS fallback, in the ledger as channel `device_sms`: only what the device observed. */
  function deviceSmsChanges(facts: AlertFacts): DeviceRow[] {
    const latest = new Map<string, DeviceRow>();
    for (const fact of facts.deviceSms) latest.set(fact.contactId, fact);
    const current = new Map(
      facts.logs.filter((l) => l.channel === 'device_sms').map((l) => [l.contactId, l.status] as const),
    );
    return [...latest.values()].filter(
      (row) => facts.contactDetails.has(row.contactId) && current.get(row.contactId) !== row.status,
    );
  }

  async function upsertDeviceSms(tx: Tx, facts: AlertFacts, row: DeviceRow, version: number, at: Date) {
    const entry = [historyEntry(row.status, row.at)];
    await tx
      .insert(alertLogs)
      .values({
        id: newId(),
        userId: facts.details.userId,
        incidentId: facts.details.id,
        contactId: row.contactId,
        channel: 'device_sms',
        messageKind: 'alert',
        idempotencyKey: `${facts.details.id}/${row.contactId}/device_sms/alert`,
        status: row.status,
        statusHistory: entry,
        toAddress: facts.contactDetails.get(row.contactId)?.phoneE164 ?? null,
        version,
        createdAt: at,
        updatedAt: at,
      })
      .onConflictDoUpdate({
        target: alertLogs.idempotencyKey,
        set: {
          status: row.status,
          statusHistory: sql`${alertLogs.statusHistory} || ${JSON.stringify(entry)}::jsonb`,
          version,
          updatedAt: at,
        },
      });
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

  async function userIncidents(userId: string): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      db,
      sql`select id from emergency_incidents where user_id = ${userId}
          and (status in ('active', 'acknowledged') or silent_escalation
               or updated_at > ${new Date(now().getTime() - LIVE_FOR_MS).toISOString()}::timestamptz)`,
    );
    return rows.map((r) => r.id);
  }

  async function claim(limit: number): Promise<ClaimedRow[]> {
    const at = now();
    return queryRows<ClaimedRow>(
      db,
      sql`with due as (
            select id, lease_until from alert_logs
            where status = 'pending' and next_attempt_at <= ${at.toISOString()}::timestamptz
              and (lease_until is null or lease_until < ${at.toISOString()}::timestamptz)
            order by (message_kind = 'location_update'), next_attempt_at
            limit ${limit}
            for update skip locked)
          update alert_logs a
             set lease_until = ${new Date(at.getTime() + leaseMs).toISOString()}::timestamptz,
                 attempts = a.attempts + 1
            from due where a.id = due.id
          returning a.id, a.user_id, a.incident_id, a.channel, a.message_kind, a.to_address, a.body, a.attempts,
                    a.created_at, due.lease_until as previous_lease`,
    );
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

  async function record(row: ClaimedRow, result: SendResult): Promise<void> {
    const at = now();
    let version = 0;
    await db.transaction(async (tx) => {
      version = await nextUserVersion(tx, row.user_id);
      const mine = and(eq(alertLogs.id, row.id), eq(alertLogs.attempts, row.attempts));
      const common = { version, updatedAt: at };
      const append = (entry: AlertStatusEntry) =>
        sql`${alertLogs.statusHistory} || ${JSON.stringify([entry])}::jsonb`;
      if (result.outcome === 'accepted') {
        await tx
          .update(alertLogs)
          .set({
            ...common,
            status: result.status,
            statusHistory: append(historyEntry(result.status, at)),
            providerMessageId: result.providerMessageId,
            segments: result.segments ?? null,
            errorCode: null,
            errorMessage: null,
            leaseUntil: null,
            nextAttemptAt: null,
          })
          .where(mine);
        return;
      }
      const retry = result.outcome === 'transient' && row.attempts < maxAttempts;
      const status: AlertStatus = retry ? 'pending' : 'failed';
      await tx
        .update(alertLogs)
        .set({
          ...common,
          status,
          statusHistory: append(historyEntry(retry ? 'pending' : 'failed', at, result.errorCode)),
          errorCode: result.errorCode,
          errorMessage: result.message,
          // An SMS that failed transiently may still have gone (a timeout): the next try checks first.
          leaseUntil: retry && row.channel === 'sms' ? at : null,
          nextAttemptAt: retry
            ? new Date(at.getTime() + Math.max(result.retryAfterMs ?? 0, retryDelayMs(row.attempts)))
            : null,
        })
        .where(mine);
    });
    pokes.publish(row.user_id, version);
    dirtyIncidents.add(row.incident_id);
  }

  async function deliver(row: ClaimedRow): Promise<void> {
    let result: SendResult;
    try {
      result = await send(row);
    } catch (error) {
      result = { outcome: 'transient', errorCode: 'send_error', message: String(error) };
    }
    await record(row, result);
  }

  /** Plans what is due, then sends until nothing is due; returns how many messages were tried. */
  async function tick(): Promise<number> {
    const at = now().getTime();
    const incidents = new Set(dirtyIncidents);
    dirtyIncidents.clear();
    for (const userId of [...dirtyUsers]) {
      dirtyUsers.delete(userId);
      for (const id of await userIncidents(userId)) incidents.add(id);
    }
    for (const [id, when] of wakeAt) if (when <= at) incidents.add(id);
    if (at - lastFullScan >= fullScanMs) {
      lastFullScan = at;
      for (const id of await liveIncidents()) incidents.add(id);
    }
    for (const id of incidents) {
      try {
        await planIncident(id);
      } catch (error) {
        dirtyIncidents.add(id);
        log.error(error, `alerts: planning incident ${id} failed; will retry`);
      }
    }

    let tried = 0;
    for (;;) {
      const rows = await claim(concurrency * 4);
      if (rows.length === 0) break;
      tried += rows.length;
      await runLimited(rows, concurrency, deliver);
    }
    // Results can make more to plan (an all-clear for a message that was in flight when the user became safe).
    if (dirtyIncidents.size > 0) tried += await tick();
    return tried;
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
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = null;
    }
  }

  return {
    tick,
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

async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}
