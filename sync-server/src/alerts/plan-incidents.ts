/**
 * One planning pass over a batch of incidents, inside the caller's transaction (ADR 0010, step 1): reads their
 * facts (alert-facts.ts, one query per table), asks alert-plan.ts what each needs now, and writes the outcome in
 * a fixed number of statements whatever the batch's size:
 *
 * - each user with something to write takes their next version once (next-user-versions.ts), before any ledger
 *   row is locked, as recording and contacts' answers (responses.ts) do, so those never deadlock with planning
 *   (a status callback locks its row first; Postgres breaks that rare deadlock, and the batch is planned again);
 * - the `/a/<token>` links the new alerts need, then the links as stored (another instance may have won);
 * - the new ledger rows in multi-row inserts, `ON CONFLICT (idempotency_key) DO NOTHING`, so planning the same
 *   incident again, here or on another instance, adds nothing (AL1, AL21);
 * - the device's SMS fallback as `device_sms` rows (AL3), and "I'm safe" cancelling alerts never tried (AL5).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { alertLinks, alertLogs } from '@vitalwatch/schema/db/tables';
import type { AlertStatusEntry } from '@vitalwatch/schema/db/safety';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import type { Tx } from '../db/database.ts';
import { loadAlertFacts, loadAlertLinks, type AlertFacts } from './alert-facts.ts';
import { planAlerts, type PlannedMessage } from './alert-plan.ts';
import { alertPush, alertSms, type AlertTextInput } from './alert-text.ts';
import type { AlertStatus } from '@vitalwatch/schema/protocol/alert-status';
import type { AlertChannels, AlertPayload } from './alert-channels.ts';
import { nextUserVersions } from './next-user-versions.ts';
import { newReceiptToken } from './receipt-token.ts';

export type PlanContext = {
  channels: AlertChannels;
  /** Our public origin, for the `/a/<token>` links; null = alerts carry no link. */
  publicUrl: string | null;
  linkTtlMs: number;
  smsLocationEveryMs?: number | undefined;
  at: Date;
};

export type PlannedBatch = {
  /** Incident id → when its plan next changes by the clock alone (null: never); absent = no such incident. */
  wakeAt: Map<string, Date | null>;
  /** User id → the version this batch's writes took (users with nothing to write are absent). */
  versions: Map<UserId, number>;
};

type DeviceRow = { contactId: string; status: AlertStatus; at: Date };

/** What one incident of the batch writes. */
type IncidentWrites = {
  facts: AlertFacts;
  create: readonly PlannedMessage[];
  deviceRows: readonly DeviceRow[];
  cancel: readonly string[];
};

/** Rows per multi-row INSERT: far below Postgres's 65,535 parameters at about 20 columns a row. */
const INSERT_CHUNK = 1_000;

export function historyEntry(status: AlertStatus, at: Date, errorCode?: string | null): AlertStatusEntry {
  return { status, at: at.toISOString(), ...(errorCode ? { errorCode } : {}) };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

export async function planIncidents(
  tx: Tx,
  incidentIds: readonly string[],
  context: PlanContext,
): Promise<PlannedBatch> {
  const { at } = context;
  const facts = await loadAlertFacts(tx, incidentIds, at, context.smsLocationEveryMs);
  const wakeAt = new Map<string, Date | null>();
  const writes: IncidentWrites[] = [];
  for (const incidentFacts of facts.values()) {
    const plan = planAlerts(incidentFacts);
    wakeAt.set(incidentFacts.details.id, plan.wakeAt);
    const write = {
      facts: incidentFacts,
      create: plan.create,
      deviceRows: deviceSmsChanges(incidentFacts),
      cancel: plan.cancelUntried ? incidentFacts.untriedIds : [],
    };
    if (write.create.length + write.deviceRows.length + write.cancel.length > 0) writes.push(write);
  }
  if (writes.length === 0) return { wakeAt, versions: new Map() };

  const versions = await nextUserVersions(
    tx,
    writes.map((w) => w.facts.details.userId),
  );
  const links = await ensureLinks(tx, writes, context);
  const versionOf = (f: AlertFacts) => versions.get(f.details.userId)!;

  const created = writes.flatMap((w) =>
    w.create.map((m) => ledgerRow(w.facts, links.get(w.facts.details.id), m, versionOf(w.facts), context)),
  );
  for (const rows of chunks(created, INSERT_CHUNK)) {
    await tx.insert(alertLogs).values(rows).onConflictDoNothing({ target: alertLogs.idempotencyKey });
  }

  const deviceRows = writes.flatMap((w) =>
    w.deviceRows.map((row) => deviceSmsRow(w.facts, row, versionOf(w.facts), at)),
  );
  for (const rows of chunks(deviceRows, INSERT_CHUNK)) {
    await tx
      .insert(alertLogs)
      .values(rows)
      .onConflictDoUpdate({
        target: alertLogs.idempotencyKey,
        set: {
          status: sql`excluded.status`,
          statusHistory: sql`${alertLogs.statusHistory} || excluded.status_history`,
          version: sql`excluded.version`,
          updatedAt: sql`excluded.updated_at`,
        },
      });
  }

  const cancel = writes.flatMap((w) => w.cancel);
  if (cancel.length > 0) {
    // The guard re-checks each row under its lock: one claimed since the facts were read is in flight, not dropped.
    await tx.execute(
      sql`update alert_logs a
             set status = 'canceled',
                 status_history = a.status_history || ${JSON.stringify([historyEntry('canceled', at)])}::jsonb,
                 error_message = 'The user is safe; this alert was not needed any more.',
                 next_attempt_at = null, version = v.version, updated_at = ${at.toISOString()}::timestamptz
            from user_versions v
           where v.user_id = a.user_id and a.id = any(${sql.param(cancel)}::uuid[])
             and a.status = 'pending' and a.attempts = 0`,
    );
  }
  return { wakeAt, versions };
}

/** Incident id → contact id → token, with a link for every contact a new alert or escalation goes to. */
async function ensureLinks(
  tx: Tx,
  writes: readonly IncidentWrites[],
  context: PlanContext,
): Promise<Map<string, ReadonlyMap<string, string>>> {
  const links = new Map<string, ReadonlyMap<string, string>>(
    writes.map((w) => [w.facts.details.id, w.facts.links]),
  );
  const missing = new Map<string, { incidentId: string; contactId: string; userId: UserId }>();
  for (const { facts, create } of writes) {
    for (const m of create) {
      if ((m.kind !== 'alert' && m.kind !== 'escalation') || facts.links.has(m.contactId)) continue;
      missing.set(`${facts.details.id}/${m.contactId}`, {
        incidentId: facts.details.id,
        contactId: m.contactId,
        userId: facts.details.userId,
      });
    }
  }
  if (missing.size === 0) return links;
  const expiresAt = new Date(context.at.getTime() + context.linkTtlMs);
  for (const rows of chunks([...missing.values()], INSERT_CHUNK)) {
    await tx
      .insert(alertLinks)
      .values(
        rows.map((l) => ({
          token: randomBytes(12).toString('base64url'),
          ...l,
          expiresAt,
          createdAt: context.at,
        })),
      )
      .onConflictDoNothing();
  }
  const incidents = new Set([...missing.values()].map((l) => l.incidentId));
  const stored = new Map<string, Map<string, string>>();
  for (const row of await loadAlertLinks(tx, [...incidents])) {
    const byContact = stored.get(row.incident_id) ?? new Map<string, string>();
    byContact.set(row.contact_id, row.token);
    stored.set(row.incident_id, byContact);
  }
  for (const [incidentId, byContact] of stored) links.set(incidentId, byContact);
  return links;
}

function ledgerRow(
  facts: AlertFacts,
  links: ReadonlyMap<string, string> | undefined,
  message: PlannedMessage,
  version: number,
  context: PlanContext,
) {
  const { channels, at } = context;
  const contact = facts.contactDetails.get(message.contactId)!;
  const token = links?.get(message.contactId);
  const d = facts.details;
  const input: AlertTextInput = {
    kind: message.kind,
    name: d.userName,
    code: d.code,
    triggeredAt: d.triggeredAt,
    receivedAt: d.receivedAt,
    utcOffsetMinutes: d.utcOffsetMinutes,
    location: d.location,
    link: context.publicUrl === null || token === undefined ? null : `${context.publicUrl}/a/${token}`,
    duress: d.status === 'cancelled' && d.silentEscalation,
  };
  const sms = message.channel === 'sms';
  const configured =
    message.channel === 'sms'
      ? channels.sms !== null
      : message.channel === 'web_push'
        ? channels.webPush !== null
        : channels.realtime !== null;
  const status: AlertStatus = configured ? 'pending' : 'not_configured';
  const id = newId();
  const payload: AlertPayload = {
    kind: message.kind,
    incidentId: d.id,
    ...alertPush(input),
    url: input.link,
    receipt: newReceiptToken(id),
  };
  return {
    id,
    userId: d.userId,
    incidentId: d.id,
    contactId: message.contactId,
    channel: message.channel,
    messageKind: message.kind,
    idempotencyKey: message.key,
    status,
    statusHistory: [historyEntry(status, at)],
    toAddress: sms ? contact.phoneE164 : contact.contactUserId,
    body: sms ? alertSms(input) : JSON.stringify(payload),
    provider: sms
      ? (channels.sms?.name ?? null)
      : message.channel === 'realtime'
        ? (channels.realtime?.name ?? null)
        : 'web_push',
    nextAttemptAt: status === 'pending' ? at : null,
    version,
    createdAt: at,
    updatedAt: at,
  };
}

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

function deviceSmsRow(facts: AlertFacts, row: DeviceRow, version: number, at: Date) {
  return {
    id: newId(),
    userId: facts.details.userId,
    incidentId: facts.details.id,
    contactId: row.contactId,
    channel: 'device_sms' as const,
    messageKind: 'alert' as const,
    idempotencyKey: `${facts.details.id}/${row.contactId}/device_sms/alert`,
    status: row.status,
    statusHistory: [historyEntry(row.status, row.at)],
    toAddress: facts.contactDetails.get(row.contactId)?.phoneE164 ?? null,
    version,
    createdAt: at,
    updatedAt: at,
  };
}
