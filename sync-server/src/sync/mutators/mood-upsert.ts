/**
 * `mood.upsert@1` and `mood.delete@1`. Fields are last-writer-wins one by one, by the edit's HLC (clamped to server
 * time + 5 min); every value an edit overwrites is kept in `mood_revisions`. A deleted entry stays deleted: a later
 * edit from another device is rejected (and kept in `mutation_errors`), never resurrects it.
 *
 * `recordedAt` is the moment the entry is about, set when it is created. Every upsert carries it (the protocol
 * requires it), so treating it as an LWW field would let any later edit of another field silently put back the
 * time that device last saw; later upserts therefore leave it alone.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { moodEntries, moodRevisions } from '@vitalwatch/schema/db/tables';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { advanceClocks, loadClocks, sameValue, saveClocks, winningFields } from '../field-clocks.ts';
import { maxHlc } from '@vitalwatch/schema/protocol/hlc';
import { MutationRejected } from '../mutation-rejected.ts';
import { OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

type MoodValues = {
  mood?: number;
  energy?: number | null;
  anxiety?: number | null;
  sleepHours?: number | null;
  emotions?: string[];
  note?: string | null;
};
type MoodField = keyof MoodValues;

function proposedValues(args: MutatorArgs<'mood.upsert@1'>): MoodValues {
  const { fields } = args;
  return {
    ...(fields.mood !== undefined && { mood: fields.mood }),
    ...(fields.energy !== undefined && { energy: fields.energy }),
    ...(fields.anxiety !== undefined && { anxiety: fields.anxiety }),
    ...(fields.sleepHours !== undefined && { sleepHours: fields.sleepHours }),
    ...(fields.emotions !== undefined && { emotions: fields.emotions }),
    ...(fields.note !== undefined && { note: fields.note }),
  };
}

export async function moodUpsert(
  ctx: MutationContext,
  args: MutatorArgs<'mood.upsert@1'>,
): Promise<MutationOutcome> {
  const proposed = proposedValues(args);
  const [row] = await ctx.tx.select().from(moodEntries).where(eq(moodEntries.id, args.id)).for('update');

  if (row === undefined) {
    if (proposed.mood === undefined) {
      throw new MutationRejected(
        'invalid_args',
        'A new mood entry needs a mood score. Open the entry, pick a score and save it again.',
      );
    }
    await ctx.tx.insert(moodEntries).values({
      id: args.id,
      userId: ctx.userId,
      recordedAt: new Date(args.recordedAt),
      mood: proposed.mood,
      energy: proposed.energy ?? null,
      anxiety: proposed.anxiety ?? null,
      sleepHours: proposed.sleepHours ?? null,
      emotions: proposed.emotions ?? [],
      note: proposed.note ?? null,
      hlc: ctx.hlc,
      version: ctx.version,
      createdAt: ctx.now,
      updatedAt: ctx.now,
    });
    const written = Object.keys(proposed);
    await saveClocks(ctx, 'mood_entries', args.id, advanceClocks({}, written, ctx.hlc));
    return OK;
  }

  if (row.deletedAt !== null) {
    throw new MutationRejected(
      'deleted',
      'This mood entry was deleted on another device, so this edit was not kept. Add a new entry if you want it back.',
    );
  }

  const clocks = await loadClocks(ctx, 'mood_entries', args.id);
  const winners = winningFields<MoodField>(proposed, clocks, ctx.hlc);
  if (winners.length === 0) return OK;

  const previous: Record<string, { value: unknown; hlc: string | null }> = {};
  for (const field of winners) {
    if (!sameValue(row[field], proposed[field])) {
      const old = row[field];
      previous[field] = { value: old instanceof Date ? old.getTime() : old, hlc: clocks[field] ?? null };
    }
  }
  const patch: MoodValues = {};
  for (const field of winners) Object.assign(patch, { [field]: proposed[field] });
  await ctx.tx
    .update(moodEntries)
    .set({ ...patch, hlc: maxHlc(row.hlc, ctx.hlc), version: ctx.version, updatedAt: ctx.now })
    .where(eq(moodEntries.id, args.id));
  if (Object.keys(previous).length > 0) {
    await ctx.tx.insert(moodRevisions).values({
      userId: ctx.userId,
      moodEntryId: args.id,
      previous,
      replacedByHlc: ctx.hlc,
      replacedAtVersion: ctx.version,
      createdAt: ctx.now,
    });
  }
  await saveClocks(ctx, 'mood_entries', args.id, advanceClocks(clocks, winners, ctx.hlc));
  return OK;
}

export async function moodDelete(
  ctx: MutationContext,
  args: MutatorArgs<'mood.delete@1'>,
): Promise<MutationOutcome> {
  // A tombstone: the row stays (with its values) until the tombstone horizon, so pull can tell devices.
  await ctx.tx
    .update(moodEntries)
    .set({ deletedAt: ctx.now, version: ctx.version, updatedAt: ctx.now })
    .where(and(eq(moodEntries.id, args.id), isNull(moodEntries.deletedAt)));
  return OK;
}
