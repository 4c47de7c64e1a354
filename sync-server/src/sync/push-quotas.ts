/**
 * What one account may write through sync (issue #13 item 3, SPEC SE20–SE22): sensor samples per push, sensor
 * samples per day and request bytes per day (inflated JSON of its user- and bulk-lane pushes). The critical lane
 * (incidents and their events) is never counted and never refused.
 *
 * - A push over the per-push limit is `413 too_many_samples` before anything is parsed further or counted: the
 *   device splits its batch (`web/src/sync/sync-client.ts`).
 * - The daily counters live in `api_usage` (route `sync/push`, one row per account and UTC day), so they survive
 *   restarts and are shared by every instance on Postgres. A push is charged before it is applied, by one atomic
 *   `INSERT … ON CONFLICT DO UPDATE … WHERE` that adds its samples and bytes only if the totals stay within the
 *   limits; otherwise nothing is added and the push is `429 daily_quota_exceeded` with `Retry-After` (seconds to
 *   the next UTC midnight). A push that then fails (a 503, a bug) gives its charge back, and a bulk push gives
 *   back the samples it did not store (SE48): a batch re-sent after its answer was lost counts once. The charge
 *   is made before the push is applied, so a re-sent batch still needs room for its samples at that moment.
 * - Over-limit answers name the limit and its value (`limit`, `limit_value` in the body too) and say that the
 *   device keeps the data: nothing of that push was written.
 */
import { sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { apiUsage } from '@vitalwatch/schema/db/tables';
import type { Db } from '../db/database.ts';
import { executeCount, queryRows } from '../db/query-rows.ts';
import { HttpError } from '../http/http-error.ts';

export type SyncQuotas = {
  /** Sensor samples in one push (all its `samples.append` entries). */
  samplesPerPush: number;
  /** Sensor samples one account may push per UTC day. */
  samplesPerDay: number;
  /** Inflated request bytes of one account's user- and bulk-lane pushes per UTC day. */
  pushBytesPerDay: number;
};

const MIB = 1024 * 1024;

/**
 * A device records about 50,000 samples a day (bench/README.md): the daily limit lets one come back from 20 days
 * offline in a day. A push of 100,000 samples is about 0.5–1 MB of JSON; the app's bulk pushes are at most 512 KiB.
 */
export const DEFAULT_SYNC_QUOTAS: SyncQuotas = {
  samplesPerPush: 100_000,
  samplesPerDay: 1_000_000,
  pushBytesPerDay: 128 * MIB,
};

/** The `api_usage.route` of the daily sync counters. */
export const SYNC_PUSH_ROUTE = 'sync/push';

const count = (n: number) => n.toLocaleString('en');
const mib = (bytes: number) => `${(bytes / MIB).toLocaleString('en', { maximumFractionDigits: 1 })} MiB`;

/**
 * The samples a push body carries, read from the raw JSON before the protocol's parse (cheap, and so a huge batch
 * is refused before the parse's work): per `samples.append` entry, its longest column.
 */
export function countSamples(body: unknown): number {
  if (typeof body !== 'object' || body === null || !('mutations' in body)) return 0;
  const { mutations } = body;
  if (!Array.isArray(mutations)) return 0;
  let samples = 0;
  for (const mutation of mutations as unknown[]) {
    if (typeof mutation !== 'object' || mutation === null || !('args' in mutation)) continue;
    const { args } = mutation;
    if (typeof args !== 'object' || args === null) continue;
    const column = (key: string) => {
      const value = (args as Record<string, unknown>)[key];
      return Array.isArray(value) ? value.length : 0;
    };
    samples += Math.max(column('dt'), column('v'), column('ids'));
  }
  return samples;
}

/** 413 for a push that no day's quota could take: too many samples, or more bytes than a whole day's. */
export function checkPushSize(use: PushUse, quotas: SyncQuotas): void {
  if (use.samples > quotas.samplesPerPush) {
    throw new HttpError(
      413,
      'too_many_samples',
      `This batch carries ${count(use.samples)} sensor samples; the server takes at most ` +
        `${count(quotas.samplesPerPush)} in one push. Nothing was saved: the app keeps the samples and sends them ` +
        'again in smaller batches.',
      { limit: 'samples_per_push', limit_value: quotas.samplesPerPush },
    );
  }
  if (use.bytes > quotas.pushBytesPerDay) {
    throw new HttpError(
      413,
      'push_too_large',
      `This batch is ${mib(use.bytes)}; the server takes at most ${mib(quotas.pushBytesPerDay)} of sync data per ` +
        'account per day. Nothing was saved: the app keeps the data and sends it again in smaller batches.',
      { limit: 'push_bytes_per_day', limit_value: quotas.pushBytesPerDay },
    );
  }
}

/** What a push counts against the daily quotas. */
export type PushUse = { samples: number; bytes: number };

/** A push's charge against its account's day, to give back if the push fails. */
export type QuotaCharge = PushUse & { userId: UserId; day: Date };

/**
 * A 429 for a daily quota, with `Retry-After` (seconds to the next UTC midnight) as a header the error handler
 * sends and, as for every 429 (SE30), the same number as `retry_after_seconds` in the body.
 */
function dailyQuotaExceeded(message: string, extra: Record<string, unknown>, seconds: number): HttpError {
  return new HttpError(
    429,
    'daily_quota_exceeded',
    message,
    { ...extra, retry_after_seconds: seconds },
    { 'retry-after': String(seconds) },
  );
}

function utcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

function untilNextDay(now: Date): { seconds: number; words: string } {
  const seconds = Math.max(1, Math.ceil((utcDay(now).getTime() + 86_400_000 - now.getTime()) / 1000));
  const hours = Math.floor(seconds / 3_600);
  const minutes = Math.ceil((seconds % 3_600) / 60);
  return { seconds, words: hours > 0 ? `${hours} h ${minutes} min` : `${minutes} min` };
}

/** Adds `use` to the account's counters for today if both stay within the limits; else a 429 naming the limit. */
export async function chargeDailyQuota(
  db: Db,
  userId: UserId,
  use: PushUse,
  quotas: SyncQuotas,
  now: Date,
): Promise<QuotaCharge> {
  const day = utcDay(now);
  // Server-side accounting, as the table's owner (api_usage is read-only for users, RLS own_rows_read).
  const charged = await queryRows<{ samples: number }>(
    db,
    sql`insert into ${apiUsage} as u (user_id, window_start, route, requests, bytes_in, samples)
        values (${userId}, ${day.toISOString()}, ${SYNC_PUSH_ROUTE}, 1, ${use.bytes}, ${use.samples})
        on conflict (user_id, route, window_start) do update
          set requests = u.requests + 1, bytes_in = u.bytes_in + excluded.bytes_in,
              samples = u.samples + excluded.samples
          where u.samples + excluded.samples <= ${quotas.samplesPerDay}
            and u.bytes_in + excluded.bytes_in <= ${quotas.pushBytesPerDay}
        returning u.samples`,
  );
  if (charged.length > 0) return { userId, day, ...use };

  const [used] = await queryRows<{ samples: string | number; bytes_in: string | number }>(
    db,
    sql`update ${apiUsage} set rejected = rejected + 1
        where user_id = ${userId} and route = ${SYNC_PUSH_ROUTE} and window_start = ${day.toISOString()}
        returning samples, bytes_in`,
  );
  const usedSamples = Number(used?.samples ?? 0);
  const wait = untilNextDay(now);
  const keep = `Nothing from this batch was saved: the app keeps it and sends it after midnight UTC (in ${wait.words}).`;
  if (usedSamples + use.samples > quotas.samplesPerDay) {
    throw dailyQuotaExceeded(
      `This account has sent ${count(usedSamples)} sensor samples today; the server's limit is ` +
        `${count(quotas.samplesPerDay)} per account per day, and this batch has ${count(use.samples)} more. ${keep}`,
      { limit: 'samples_per_day', limit_value: quotas.samplesPerDay },
      wait.seconds,
    );
  }
  throw dailyQuotaExceeded(
    `This account has sent ${mib(Number(used?.bytes_in ?? 0))} of sync data today; the server's limit is ` +
      `${mib(quotas.pushBytesPerDay)} per account per day, and this batch is ${mib(use.bytes)} more. ${keep}`,
    { limit: 'push_bytes_per_day', limit_value: quotas.pushBytesPerDay },
    wait.seconds,
  );
}

/**
 * Gives back the samples of a push's charge that it did not store: a re-sent batch whose first answer was lost
 * (its seqs are dups, or its samples' ids are stored already), or a rejected one. The day counts samples stored
 * once (SE48); the request and its bytes stay counted (they were received).
 */
export async function returnUnstoredSamples(db: Db, charge: QuotaCharge, samples: number): Promise<void> {
  await executeCount(
    db,
    sql`update ${apiUsage} set samples = greatest(samples - ${samples}, 0)
        where user_id = ${charge.userId} and route = ${SYNC_PUSH_ROUTE}
          and window_start = ${charge.day.toISOString()}`,
  );
}

/** Gives a failed push's charge back (best effort: the caller logs a failure and answers as it would have). */
export async function refundDailyQuota(db: Db, charge: QuotaCharge): Promise<void> {
  await executeCount(
    db,
    sql`update ${apiUsage}
        set requests = greatest(requests - 1, 0), bytes_in = greatest(bytes_in - ${charge.bytes}, 0),
            samples = greatest(samples - ${charge.samples}, 0)
        where user_id = ${charge.userId} and route = ${SYNC_PUSH_ROUTE}
          and window_start = ${charge.day.toISOString()}`,
  );
}
