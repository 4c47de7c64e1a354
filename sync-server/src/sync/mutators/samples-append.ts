/**
 * `samples.append@1` and `@2` (bulk lane): one columnar batch of one sensor kind, inserted with
 * `INSERT … SELECT FROM unnest(…)` (five bind parameters whatever the batch size). Samples are immutable and never
 * pulled back: a sample whose id exists is skipped (a re-sent batch), and no version is stamped (CF1).
 * `@1` carries each sample's id; `@2` carries one id for the batch and each sample's id is derived from it, the
 * sample's index and its time with the function the device uses (`sampleIds`, CF13), so a re-sent `@2` batch
 * derives the same ids and inserts nothing.
 *
 * A push applies a batch in slices of its columns (`run-bulk-push.ts`, SE23); the mutators below insert it whole.
 */
import { sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { sensorReadings } from '@vitalwatch/schema/db/tables';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { sampleIds, sampleTimes } from '@vitalwatch/schema/protocol/sample-ids';
import type { Tx } from '../../db/database.ts';
import { executeCount } from '../../db/query-rows.ts';
import { MutationRejected } from '../mutation-rejected.ts';
import { OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

/** One batch as the insert takes it: per sample its id, ISO time and value. */
export type SampleColumns = {
  kind: number;
  ids: readonly string[];
  recordedAt: readonly string[];
  values: readonly number[];
};

/** The largest magnitude a `real` (float4) column stores; Postgres refuses more (and nonzero values below 2^-149). */
const REAL_MAX = 3.4028234663852886e38;
const REAL_MIN_SUBNORMAL = 1.401298464324817e-45;

/**
 * Refuses values a `real` cannot hold before anything is written, so a batch applied in slices is never refused by
 * the database halfway (the database stays the last check).
 */
function checkValues(values: readonly number[]): void {
  for (const v of values) {
    const magnitude = Math.abs(v);
    if (magnitude > REAL_MAX || (magnitude !== 0 && magnitude < REAL_MIN_SUBNORMAL)) {
      throw new MutationRejected(
        'invalid_args',
        `A sample value (${v}) is out of range for a sensor reading; check the sensor.`,
      );
    }
  }
}

export function sampleColumnsV1(args: MutatorArgs<'samples.append@1'>): SampleColumns {
  const recordedAt: string[] = [];
  let t = args.t0;
  for (const step of args.dt) {
    t += step;
    if (t > 8_640_000_000_000_000) {
      throw new MutationRejected(
        'invalid_args',
        'A sample time is past the year 275,000; check the device clock.',
      );
    }
    recordedAt.push(new Date(t).toISOString());
  }
  checkValues(args.v);
  return { kind: args.kind, ids: args.ids, recordedAt, values: args.v };
}

export function sampleColumnsV2(args: MutatorArgs<'samples.append@2'>): SampleColumns {
  // The schema has checked that every sample time fits a UUIDv7 timestamp, so neither call throws.
  const recordedAt = sampleTimes(args.t0, args.dt).map((t) => new Date(t).toISOString());
  checkValues(args.v);
  return { kind: args.kind, ids: sampleIds(args.id, args.t0, args.dt), recordedAt, values: args.v };
}

/**
 * Inserts samples `from` (inclusive) to `to` (exclusive) of a batch; existing ids are skipped. Returns how many
 * were new (the daily quota counts only those, SE48).
 */
export async function insertSamples(
  tx: Tx,
  userId: UserId,
  columns: SampleColumns,
  from = 0,
  to = columns.ids.length,
): Promise<number> {
  return executeCount(
    tx,
    sql`
    insert into ${sensorReadings} (id, user_id, recorded_at, kind, value)
    select u.id, ${userId}::uuid, u.recorded_at, ${columns.kind}::smallint, u.value
    from unnest(
      ${sql.param(columns.ids.slice(from, to))}::uuid[],
      ${sql.param(columns.recordedAt.slice(from, to))}::timestamptz[],
      ${sql.param(columns.values.slice(from, to))}::real[]
    ) as u(id, recorded_at, value)
    on conflict (id) do nothing`,
  );
}

export async function samplesAppend(
  ctx: MutationContext,
  args: MutatorArgs<'samples.append@1'>,
): Promise<MutationOutcome> {
  await insertSamples(ctx.tx, ctx.userId, sampleColumnsV1(args));
  return OK;
}

export async function samplesAppendV2(
  ctx: MutationContext,
  args: MutatorArgs<'samples.append@2'>,
): Promise<MutationOutcome> {
  await insertSamples(ctx.tx, ctx.userId, sampleColumnsV2(args));
  return OK;
}
