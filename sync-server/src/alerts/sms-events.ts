/**
 * What the SMS provider tells us after a send, applied to the ledger:
 * - Status callbacks (SPEC AL10): idempotent, in any order, once per segment. A status never moves a message
 *   backwards (`isLaterStatus`); every distinct status is kept in the row's history with its time and error
 *   code. A failure the carrier calls temporary (30003) puts the message back in the queue; a landline (30006)
 *   or unknown number never is.
 * - Replies (SPEC AL8): "OK <code>" from a number we alerted acknowledges for that contact; "SAFE <code> <PIN>"
 *   from one ends the incident when the PIN is right (safe-reply.ts, AL15–AL18).
 */
import { and, eq, sql } from 'drizzle-orm';
import { alertLogs } from '@vitalwatch/schema/db/tables';
import type { AlertStatusEntry } from '@vitalwatch/schema/db/safety';
import type { UserId } from '@vitalwatch/schema/ids';
import type { Db } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';
import { lockUserVersion, nextUserVersion } from '../db/user-version.ts';
import type { AlertStatus } from '@vitalwatch/schema/protocol/alert-status';
import { retryDelayMs } from './dispatcher.ts';
import { recordResponse } from './responses.ts';
import { applySafeReply, ONLY_THE_APP, parseSafeReply } from './safe-reply.ts';
import type { AlertedContact, SmsEventDeps } from './sms-event-deps.ts';
import { classifyTwilioError, isLaterStatus } from './twilio/twilio-status.ts';
import { applyTestSmsStatus, recordTestReply } from './sos-test-routes.ts';

export type StatusUpdate = {
  sid: string;
  status: AlertStatus;
  errorCode: string | null;
  errorMessage: string | null;
};

export async function applySmsStatus(deps: SmsEventDeps, update: StatusUpdate): Promise<void> {
  const at = deps.now();
  const bySid = and(eq(alertLogs.provider, deps.provider), eq(alertLogs.providerMessageId, update.sid));
  const changed = await deps.db.transaction(async (tx) => {
    // Locks in the order planning and recording take them (the user's version, then the ledger row), so a
    // callback and a dispatcher batch never wait on each other in a cycle.
    const [owner] = await tx.select({ userId: alertLogs.userId }).from(alertLogs).where(bySid);
    // Not an alert: a "Test my SOS" message (SPEC SO45), or one we do not know (another deployment's, or one
    // re-sent under a new id), which changes nothing.
    if (owner === undefined) return null;
    await lockUserVersion(tx, owner.userId as UserId);
    const [row] = await tx
      .select({
        id: alertLogs.id,
        userId: alertLogs.userId,
        incidentId: alertLogs.incidentId,
        status: alertLogs.status,
        history: alertLogs.statusHistory,
        attempts: alertLogs.attempts,
      })
      .from(alertLogs)
      .where(bySid)
      .for('update');
    if (row === undefined) return null;
    const seen = row.history.some(
      (e: AlertStatusEntry) => e.status === update.status && (e.errorCode ?? null) === update.errorCode,
    );
    const later = isLaterStatus(row.status, update.status);
    if (seen && !later) return null;

    const version = await nextUserVersion(tx, row.userId as UserId);
    const entry: AlertStatusEntry = {
      status: update.status,
      at: at.toISOString(),
      ...(update.errorCode ? { errorCode: update.errorCode } : {}),
    };
    const failed = update.status === 'failed' || update.status === 'undelivered';
    const retry =
      later &&
      failed &&
      classifyTwilioError(update.errorCode) === 'retry-later' &&
      row.attempts < deps.maxAttempts;
    await tx
      .update(alertLogs)
      .set({
        statusHistory: sql`${alertLogs.statusHistory} || ${JSON.stringify([entry])}::jsonb`,
        version,
        updatedAt: at,
        ...(later && {
          status: retry ? 'pending' : update.status,
          errorCode: update.errorCode,
          errorMessage: update.errorMessage,
        }),
        // Sent again later as a new message: the old id's late callbacks then find nothing.
        ...(retry && {
          providerMessageId: null,
          nextAttemptAt: new Date(at.getTime() + retryDelayMs(row.attempts)),
          leaseUntil: null,
        }),
      })
      .where(eq(alertLogs.id, row.id));
    return { userId: row.userId as UserId, version, incidentId: row.incidentId };
  });
  if (changed === null) {
    await applyTestSmsStatus(deps, update);
    return;
  }
  deps.pokes.publish(changed.userId, changed.version);
  deps.onChange?.(changed.incidentId);
}

const REPLY = /^\s*(OK|YES|SAFE)\b\s*([A-Za-z0-9]{4,8})?/i;

/** The newest alert to this number with that code (or the newest at all when the reply has no code). */
async function findAlertedContact(db: Db, from: string, code: string | null): Promise<AlertedContact | null> {
  const [target] = await queryRows<AlertedContact>(
    db,
    sql`select l.user_id, l.incident_id, l.contact_id, u.display_name as name
        from alert_logs l
        join emergency_incidents i on i.id = l.incident_id
        join users u on u.id = l.user_id
        where l.channel = 'sms' and l.to_address = ${from} and l.contact_id is not null
          and l.message_kind in ('alert', 'escalation')
          and (${code}::text is null or i.code = ${code})
        order by l.created_at desc limit 1`,
  );
  return target ?? null;
}

function notAlerted(code: string | null, usage: string): string {
  return code === null
    ? 'VitalWatch: no alert was sent to this number.'
    : `VitalWatch: no alert ${code} was sent to this number. Check the code and reply ${usage}.`;
}

/** The text to send back, and the user whose alert the message answered (null: none). */
export type SmsReply = { text: string; userId: string | null };

/** Answers an inbound SMS. */
export async function applySmsReply(
  deps: SmsEventDeps,
  message: { from: string; body: string },
): Promise<SmsReply> {
  const safe = parseSafeReply(message.body);
  if (safe !== null) {
    const contact = await findAlertedContact(deps.db, message.from, safe.code);
    return contact === null
      ? { text: notAlerted(safe.code, 'SAFE <code> <PIN>'), userId: null }
      : { text: await applySafeReply(deps, contact, safe), userId: contact.user_id };
  }
  const match = REPLY.exec(message.body);
  // A reply without an alert code to a number texted "Test my SOS" since its last alert answers the test (SO46).
  if (match?.[2] === undefined) {
    const test = await recordTestReply(deps, message);
    if (test !== null) return test;
  }
  if (match === null) {
    return {
      text: 'VitalWatch: to tell the person you are responding, reply OK and the code from the alert, e.g. OK A7F3.',
      userId: null,
    };
  }
  const word = match[1]!.toUpperCase();
  if (word === 'SAFE') return { text: `VitalWatch: ${ONLY_THE_APP}`, userId: null };
  const code = match[2]?.toUpperCase() ?? null;
  const target = await findAlertedContact(deps.db, message.from, code);
  if (target === null) {
    // "OK love you": a word that looks like a code but names no alert, to a test, answers the test.
    const test = code === null ? null : await recordTestReply(deps, message);
    return test ?? { text: notAlerted(code, 'OK <code>'), userId: null };
  }
  await recordResponse(deps, {
    userId: target.user_id,
    incidentId: target.incident_id,
    contactId: target.contact_id,
    response: 'acknowledged',
  });
  const name = target.name ?? 'They';
  return {
    text: `VitalWatch: thank you. ${name} can see that you are responding. Call the local emergency number if they are in danger.`,
    userId: target.user_id,
  };
}
