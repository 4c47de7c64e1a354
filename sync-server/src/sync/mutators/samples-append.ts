/**
 * `samples.append@1` (bulk lane): one columnar batch of one sensor kind, as one `INSERT … SELECT FROM unnest(…)`
 * with five bind parameters whatever the batch size. Samples are immutable and never pulled back: a sample whose id
 * exists is skipped (a re-sent batch), and no version is stamped.
 */
import { sql } from 'drizzle-orm';
import { sensorReadings } from '@vitalwatch/schema/db/tables';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
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
  await ctx.tx.execute(sql`
    insert into ${sensorReadings} (id, user_id, recorded_at, kind, value)
    select u.id, ${ctx.userId}::uuid, u.recorded_at, ${args.kind}::smallint, u.value
    from unnest(
      ${sql.param(args.ids)}::uuid[],
      ${sql.param(recordedAt)}::timestamptz[],
      ${sql.param(args.v)}::real[]
    ) as u(id, recorded_at, value)
    on conflict (id) do nothing`);
  return OK;
}
