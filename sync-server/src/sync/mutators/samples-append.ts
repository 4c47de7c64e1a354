/**
 * `samples.append@1` and `@2` (bulk lane): one columnar batch of one sensor kind, as one
 * `INSERT … SELECT FROM unnest(…)` with five bind parameters whatever the batch size. Samples are immutable and
 * never pulled back: a sample whose id exists is skipped (a re-sent batch), and no version is stamped (CF1).
 * `@1` carries each sample's id; `@2` carries one id for the batch and each sample's id is derived from it, the
 * sample's index and its time with the function the device uses (`sampleIds`, CF13), so a re-sent `@2` batch
 * derives the same ids and inserts nothing.
 */
import { sql } from 'drizzle-orm';
import { sensorReadings } from '@vitalwatch/schema/db/tables';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { sampleIds, sampleTimes } from '@vitalwatch/schema/protocol/sample-ids';
import { MutationRejected } from '../mutation-rejected.ts';
import { OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

export async function samplesAppend(
  ctx: MutationContext,
  args: MutatorArgs<'samples.append@1'>,
): Promise<MutationOutcome> {
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
  await insertSamples(ctx, args.kind, args.ids, recordedAt, args.v);
  return OK;
}

export async function samplesAppendV2(
  ctx: MutationContext,
  args: MutatorArgs<'samples.append@2'>,
): Promise<MutationOutcome> {
  // The schema has checked that every sample time fits a UUIDv7 timestamp, so neither call throws.
  const recordedAt = sampleTimes(args.t0, args.dt).map((t) => new Date(t).toISOString());
  await insertSamples(ctx, args.kind, sampleIds(args.id, args.t0, args.dt), recordedAt, args.v);
  return OK;
}

async function insertSamples(
  ctx: MutationContext,
  kind: number,
  ids: readonly string[],
  recordedAt: readonly string[],
  values: readonly number[],
): Promise<void> {
  await ctx.tx.execute(sql`
    insert into ${sensorReadings} (id, user_id, recorded_at, kind, value)
    select u.id, ${ctx.userId}::uuid, u.recorded_at, ${kind}::smallint, u.value
    from unnest(
      ${sql.param(ids)}::uuid[],
      ${sql.param(recordedAt)}::timestamptz[],
      ${sql.param(values)}::real[]
    ) as u(id, recorded_at, value)
    on conflict (id) do nothing`);
}
