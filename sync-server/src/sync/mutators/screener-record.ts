/** `screener.record@1`: one completed check-in questionnaire. Immutable once recorded; idempotent by id. */
import { eq } from 'drizzle-orm';
import { screenerResults } from '@vitalwatch/schema/db/tables';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import { MutationRejected } from '../mutation-rejected.ts';
import { CREATED, OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

export async function screenerRecord(
  ctx: MutationContext,
  args: MutatorArgs<'screener.record@1'>,
): Promise<MutationOutcome> {
  // The registry's builder adds up the total, as the device did (its own copy, SPEC PU12).
  const row = SYNCED_TABLE_REGISTRY.screener_results.build(args);
  const inserted = await ctx.tx
    .insert(screenerResults)
    .values({
      ...row,
      id: row.id.toLowerCase(),
      userId: ctx.userId,
      completedAt: new Date(row.completedAt),
      version: ctx.version,
      createdAt: ctx.now,
      updatedAt: ctx.now,
    })
    .onConflictDoNothing({ target: screenerResults.id })
    .returning({ id: screenerResults.id });
  if (inserted.length > 0) return inserted[0]?.id === args.id ? CREATED : OK;
  const mine = await ctx.tx
    .select({ id: screenerResults.id })
    .from(screenerResults)
    .where(eq(screenerResults.id, args.id.toLowerCase()));
  if (mine.length > 0) return OK;
  throw new MutationRejected('forbidden', 'This entry id belongs to another account; it was not saved.');
}
