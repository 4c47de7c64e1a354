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
import {
  advanceClocks,
  loadClocks,
  sameValue,
  saveClocks,
  winningFields,
  type Clocks,
} from '../field-clocks.ts';
import { maxHlc } from '@vitalwatch/schema/protocol/hlc';
import { SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import { MutationRejected } from '../mutation-rejected.ts';
import { CREATED, OK, type MutationContext, type MutationOutcome } from '../mutation-context.ts';

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

export type MoodRow = typeof moodEntries.$inferSelect;

/** A mood entry as the server holds it: the row and its field clocks. */
export type MoodState = { row: MoodRow; clocks: Clocks };

/** What an overwrite replaced (CF7): the `mood_revisions` row without its id and owner. */
export type MoodRevision = {
  previous: Record<string, { value: unknown; hlc: string | null }>;
  replacedByHlc: string;
  replacedAtVersion: number;
};

/**
 * The state after one mutation; `revision` when it overwrote a value; `clocksChanged` when a field won; `created`
 * when it created the entry exactly from its arguments (SPEC PU12).
 */
export type MoodChange = {
  state: MoodState;
  revision: MoodRevision | null;
  clocksChanged: boolean;
  created: boolean;
};

/** What a change is stamped with: `MutationContext` without the transaction. */
export type Stamp = Omit<MutationContext, 'tx'>;

/**
 * A `real` column's value as Postgres hands it back (the shortest decimal that names the same float4), so a state
 * planned in memory equals the one a later mutation would read from the table.
 */
function asReal(value: number | null): number | null {
  if (value === null) return null;
  const single = Math.fround(value);
  for (let digits = 1; digits < 10; digits++) {
    const decimal = Number(single.toPrecision(digits));
    if (Math.fround(decimal) === single) return decimal;
  }
  return single;
}

/**
 * `mood.upsert@1` as a pure step from `current` (undefined: no such entry) to the next state; null when nothing
 * changes (every field lost to a newer HLC). Throws `MutationRejected` for an entry deleted elsewhere (CF8) or a
 * new entry without a score. The single path (`moodUpsert`) and the batched one (`apply-batch.ts`) both use it.
 */
export function planMoodUpsert(
  current: MoodState | undefined,
  args: MutatorArgs<'mood.upsert@1'>,
  stamp: Stamp,
): MoodChange | null {
  const proposed = proposedValues(args);
  if (current === undefined) {
    // The registry's builder, as the device built its own copy (SPEC PU12).
    const built = SYNCED_TABLE_REGISTRY.mood_entries.build(args, { hlc: stamp.hlc, at: stamp.now.getTime() });
    if (built === null) {
      throw new MutationRejected(
        'invalid_args',
        'A new mood entry needs a mood score. Open the entry, pick a score and save it again.',
      );
    }
    const row: MoodRow = {
      ...built,
      id: built.id.toLowerCase(),
      userId: stamp.userId,
      recordedAt: new Date(built.recordedAt),
      sleepHours: asReal(built.sleepHours),
      analysis: null,
      version: stamp.version,
      deletedAt: null,
      createdAt: stamp.now,
      updatedAt: stamp.now,
    };
    const clocks = advanceClocks({}, Object.keys(proposed), stamp.hlc);
    // The device keeps the id and the sleep hours as sent: the row is its prediction unless storing changed them.
    const created = row.id === built.id && row.sleepHours === built.sleepHours;
    return { state: { row, clocks }, revision: null, clocksChanged: true, created };
  }

  const { row, clocks } = current;
  if (row.deletedAt !== null) {
    throw new MutationRejected(
      'deleted',
      'This mood entry was deleted on another device, so this edit was not kept. Add a new entry if you want it back.',
    );
  }
  const winners = winningFields<MoodField>(proposed, clocks, stamp.hlc);
  if (winners.length === 0) return null;

  const previous: MoodRevision['previous'] = {};
  for (const field of winners) {
    if (!sameValue(row[field], proposed[field])) {
      const old = row[field];
      previous[field] = { value: old instanceof Date ? old.getTime() : old, hlc: clocks[field] ?? null };
    }
  }
  const patch: MoodValues = {};
  for (const field of winners) Object.assign(patch, { [field]: proposed[field] });
  if (patch.sleepHours !== undefined) patch.sleepHours = asReal(patch.sleepHours);
  return {
    state: {
      row: {
        ...row,
        ...patch,
        hlc: maxHlc(row.hlc, stamp.hlc),
        version: stamp.version,
        updatedAt: stamp.now,
      },
      clocks: advanceClocks(clocks, winners, stamp.hlc),
    },
    revision:
      Object.keys(previous).length > 0
        ? { previous, replacedByHlc: stamp.hlc, replacedAtVersion: stamp.version }
        : null,
    clocksChanged: true,
    created: false,
  };
}

/** `mood.delete@1` as a pure step: the tombstone, or null when there is nothing (left) to delete. */
export function planMoodDelete(current: MoodState | undefined, stamp: Stamp): MoodChange | null {
  if (current === undefined || current.row.deletedAt !== null) return null;
  const row = { ...current.row, deletedAt: stamp.now, version: stamp.version, updatedAt: stamp.now };
  return { state: { row, clocks: current.clocks }, revision: null, clocksChanged: false, created: false };
}

/** The columns a later mutation may change (`recordedAt`, `createdAt` and the owner never change). */
function moodUpdate(row: MoodRow) {
  const { mood, energy, anxiety, sleepHours, emotions, note, hlc, version, deletedAt, updatedAt } = row;
  return { mood, energy, anxiety, sleepHours, emotions, note, hlc, version, deletedAt, updatedAt };
}

export async function moodUpsert(
  ctx: MutationContext,
  args: MutatorArgs<'mood.upsert@1'>,
): Promise<MutationOutcome> {
  const [row] = await ctx.tx.select().from(moodEntries).where(eq(moodEntries.id, args.id)).for('update');
  const current =
    row === undefined ? undefined : { row, clocks: await loadClocks(ctx, 'mood_entries', args.id) };
  const change = planMoodUpsert(current, args, ctx);
  if (change === null) return OK;
  const next = change.state.row;
  if (row === undefined) await ctx.tx.insert(moodEntries).values(next);
  else await ctx.tx.update(moodEntries).set(moodUpdate(next)).where(eq(moodEntries.id, args.id));
  if (change.revision !== null) {
    await ctx.tx
      .insert(moodRevisions)
      .values({ userId: ctx.userId, moodEntryId: next.id, ...change.revision, createdAt: ctx.now });
  }
  await saveClocks(ctx, 'mood_entries', args.id, change.state.clocks);
  return change.created ? CREATED : OK;
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
