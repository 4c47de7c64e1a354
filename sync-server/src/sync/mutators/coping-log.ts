/** `coping.log@1`: one use of a coping tool. Immutable once logged; idempotent by id. */
import { eq } from 'drizzle-orm';
import { copingToolsUsage } from '@vitalwatch/schema/db/tables';
import type { UserId } from '@vitalwatch/schema/ids';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import { MutationRejected } from '../mutation-rejected.ts';
import { CREATED, OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

/**
 * The row `coping.log@1` inserts: the registry's builder (the device's own copy, SPEC PU12), stored under its
 * owner and version. Both the single path and the batched one (apply-batch.ts) insert this.
 */
export function copingInsert(
  userId: UserId,
  args: MutatorArgs<'coping.log@1'>,
  version: number,
  now: Date,
): typeof copingToolsUsage.$inferInsert {
  const row = SYNCED_TABLE_REGISTRY.coping_tools_usage.build(args);
  return {
    ...row,
    id: row.id.toLowerCase(),
    userId,
    startedAt: new Date(row.startedAt),
    version,
    createdAt: now,
    updatedAt: now,
  };
}

export async function copingLog(
  ctx: MutationContext,
  args: MutatorArgs<'coping.log@1'>,
): Promise<MutationOutcome> {
  const inserted = await ctx.tx
    .insert(copingToolsUsage)
    .values(copingInsert(ctx.userId, args, ctx.version, ctx.now))
    .onConflictDoNothing({ target: copingToolsUsage.id })
    .returning({ id: copingToolsUsage.id });
  if (inserted.length > 0) return inserted[0]?.id === args.id ? CREATED : OK;
  const mine = await ctx.tx
    .select({ id: copingToolsUsage.id })
    .from(copingToolsUsage)
    .where(eq(copingToolsUsage.id, args.id));
  if (mine.length > 0) return OK;
  throw new MutationRejected('forbidden', 'This entry id belongs to another account; it was not saved.');
}
