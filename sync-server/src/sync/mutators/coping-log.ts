/** `coping.log@1`: one use of a coping tool. Immutable once logged; idempotent by id. */
import { eq } from 'drizzle-orm';
import { copingToolsUsage } from '@vitalwatch/schema/db/tables';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { MutationRejected } from '../mutation-rejected.ts';
import { CREATED, OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

export async function copingLog(
  ctx: MutationContext,
  args: MutatorArgs<'coping.log@1'>,
): Promise<MutationOutcome> {
  const inserted = await ctx.tx
    .insert(copingToolsUsage)
    .values({
      id: args.id,
      userId: ctx.userId,
      tool: args.tool,
      startedAt: new Date(args.startedAt),
      durationSeconds: args.durationSeconds ?? null,
      completed: args.completed,
      moodBefore: args.moodBefore ?? null,
      moodAfter: args.moodAfter ?? null,
      helpfulness: args.helpfulness ?? null,
      distressBefore: args.distressBefore ?? null,
      distressAfter: args.distressAfter ?? null,
      version: ctx.version,
      createdAt: ctx.now,
      updatedAt: ctx.now,
    })
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
