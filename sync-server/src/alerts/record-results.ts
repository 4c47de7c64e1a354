/**
 * Records what providers answered for a batch of claimed ledger rows, inside the caller's transaction (ADR 0010,
 * step 3): each user takes their next version once, then one UPDATE applies every answer. Each row's update is
 * guarded by the attempt number it was claimed with, so the answer to an attempt that has since been claimed
 * again (its lease ran out) changes nothing.
 *
 * - accepted: the provider's first status (Twilio never reports it by callback), its message id and segments;
 *   the lease is cleared.
 * - transient, attempts left: `pending` again after the backoff (or the provider's Retry-After). An SMS keeps an
 *   expired lease, so the next try asks the provider first: a timeout can hide a send that happened (AL11, AL13).
 * - otherwise `failed`.
 *
 * A row already `shown` keeps that status and changes no more: the contact's device can post its receipt before
 * the provider's answer is recorded (the realtime event reaches an open app within milliseconds), and an
 * observation outranks whatever the sender was told (SPEC AL33).
 */
import { sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import type { Tx } from '../db/database.ts';
import type { MessageKind, SendChannel } from './alert-plan.ts';
import type { AlertStatus } from '@vitalwatch/schema/protocol/alert-status';
import type { SendResult } from './channel.ts';
import { nextUserVersions } from './next-user-versions.ts';
import { historyEntry } from './plan-incidents.ts';

/** A ledger row as the dispatcher claimed it. */
export type ClaimedRow = {
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

export type SendOutcome = { row: ClaimedRow; result: SendResult };

export type RecordOptions = {
  at: Date;
  maxAttempts: number;
  /** The backoff before the next try after `attempt` attempts (dispatcher.ts `retryDelayMs`). */
  retryDelayMs: (attempt: number) => number;
};

/** One row of the UPDATE's input, as `jsonb_to_recordset` reads it. */
type ResultRow = {
  id: string;
  attempts: number;
  version: number;
  accepted: boolean;
  status: AlertStatus;
  entry: unknown[];
  provider_message_id: string | null;
  segments: number | null;
  error_code: string | null;
  error_message: string | null;
  lease_until: string | null;
  next_attempt_at: string | null;
};

function resultRow(outcome: SendOutcome, version: number, options: RecordOptions): ResultRow {
  const { row, result } = outcome;
  const { at } = options;
  const base = { id: row.id, attempts: row.attempts, version };
  if (result.outcome === 'accepted') {
    return {
      ...base,
      accepted: true,
      status: result.status,
      entry: [historyEntry(result.status, at)],
      provider_message_id: result.providerMessageId,
      segments: result.segments ?? null,
      error_code: null,
      error_message: null,
      lease_until: null,
      next_attempt_at: null,
    };
  }
  const retry = result.outcome === 'transient' && row.attempts < options.maxAttempts;
  const status: AlertStatus = retry ? 'pending' : 'failed';
  const delay = retry ? Math.max(result.retryAfterMs ?? 0, options.retryDelayMs(row.attempts)) : 0;
  return {
    ...base,
    accepted: false,
    status,
    entry: [historyEntry(status, at, result.errorCode)],
    provider_message_id: null,
    segments: null,
    error_code: result.errorCode,
    error_message: result.message,
    lease_until: retry && row.channel === 'sms' ? at.toISOString() : null,
    next_attempt_at: retry ? new Date(at.getTime() + delay).toISOString() : null,
  };
}

/** Records every outcome; returns user id → the version the batch took. */
export async function recordResults(
  tx: Tx,
  outcomes: readonly SendOutcome[],
  options: RecordOptions,
): Promise<Map<UserId, number>> {
  const versions = await nextUserVersions(
    tx,
    outcomes.map((o) => o.row.user_id),
  );
  const rows = outcomes.map((o) => resultRow(o, versions.get(o.row.user_id)!, options));
  await tx.execute(
    sql`update alert_logs a
           set status = r.status::alert_status,
               status_history = a.status_history || r.entry,
               provider_message_id = case when r.accepted then r.provider_message_id else a.provider_message_id end,
               segments = case when r.accepted then r.segments else a.segments end,
               error_code = r.error_code, error_message = r.error_message,
               lease_until = r.lease_until, next_attempt_at = r.next_attempt_at,
               version = r.version, updated_at = ${options.at.toISOString()}::timestamptz
          from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(
                 id uuid, attempts int, version bigint, accepted boolean, status text, entry jsonb,
                 provider_message_id text, segments int, error_code text, error_message text,
                 lease_until timestamptz, next_attempt_at timestamptz)
         where a.id = r.id and a.attempts = r.attempts and a.status <> 'shown'`,
  );
  return versions;
}
