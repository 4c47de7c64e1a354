/**
 * The batched path of a push (SPEC PU11): a run of consecutive `mood.upsert@1`, `mood.delete@1` and
 * `coping.log@1` mutations (and mutations the pure checks already refuse) applied with a handful of set-based
 * statements instead of a savepoint and ~4 statements per mutation.
 *
 * 1. Plan in memory: lock every mood entry the run names in one `SELECT … FOR UPDATE` (with its field clocks),
 *    then fold the mutations over those states in seq order with the same pure steps the single path runs
 *    (`planMoodUpsert`, `planMoodDelete`). A mutator's own refusal (a deleted entry, a new entry without a score)
 *    is decided here and writes nothing.
 * 2. Write the end state: one multi-row INSERT of new entries, one UPDATE … FROM json_to_recordset of changed ones,
 *    one INSERT of revisions, one field-clocks upsert, one INSERT … ON CONFLICT DO NOTHING of coping uses.
 *
 * The caller runs this inside one savepoint. A statement the database refuses (another account's id, a value a
 * constraint refuses) throws: the caller rolls the savepoint back and applies the run again one mutation at a
 * time (`applyMutation`), which finds the culprit and rejects it alone. The end state is the one the single path
 * reaches: each row carries the version of the last mutation that changed it, every overwrite leaves a revision
 * stamped with its own mutation's version, and a coping use keeps the first mutation that logged it.
 */
import { and, eq, sql } from 'drizzle-orm';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { copingToolsUsage, fieldClocks, moodEntries, moodRevisions } from '@vitalwatch/schema/db/tables';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import type { Mutation } from '@vitalwatch/schema/protocol/push-request';
import type { Tx } from '../db/database.ts';
import type { CheckedMutation } from './apply-mutation.ts';
import { CREATED, OK, type MutationOutcome } from './mutation-context.ts';
import { MutationRejected } from './mutation-rejected.ts';
import { copingInsert } from './mutators/coping-log.ts';
import {
  planMoodDelete,
  planMoodUpsert,
  type MoodRevision,
  type MoodRow,
  type MoodState,
  type Stamp,
} from './mutators/mood-upsert.ts';

/** The mutators with a batched path. */
export const BATCHED_MUTATORS: ReadonlySet<string> = new Set([
  'mood.upsert@1',
  'mood.delete@1',
  'coping.log@1',
]);

/** One mutation of the run, checked, with the version and (clamped) HLC it is stamped with. */
export type BatchItem = { mutation: Mutation; checked: CheckedMutation; version: number; hlc: string };

/** Whether `applyBatch` can take this mutation: one of its mutators, or already refused by the pure checks. */
export function isBatchable(checked: CheckedMutation): boolean {
  return !checked.ok || BATCHED_MUTATORS.has(checked.name);
}

type MoodSlot = { state: MoodState | undefined; existed: boolean; changed: boolean; clocksChanged: boolean };

/** A mutator's own refusal as its outcome; anything else is not a refusal and escapes. */
function rejection(error: unknown): MutationOutcome {
  if (!(error instanceof MutationRejected)) throw error;
  return { status: 'rejected', code: error.code, message: error.message };
}

async function lockMoods(tx: Tx, userId: UserId, ids: string[]): Promise<Map<string, MoodSlot>> {
  const slots = new Map<string, MoodSlot>();
  if (ids.length === 0) return slots;
  const rows = await tx
    .select({ row: moodEntries, hlcs: fieldClocks.hlcs })
    .from(moodEntries)
    .leftJoin(
      fieldClocks,
      and(
        eq(fieldClocks.userId, userId),
        eq(fieldClocks.tableName, 'mood_entries'),
        eq(fieldClocks.rowId, moodEntries.id),
      ),
    )
    .where(sql`${moodEntries.id} = any(${sql.param(ids)}::uuid[])`)
    .for('update', { of: moodEntries });
  for (const { row, hlcs } of rows) {
    slots.set(row.id, {
      state: { row, clocks: hlcs ?? {} },
      existed: true,
      changed: false,
      clocksChanged: false,
    });
  }
  const absent = (): MoodSlot => ({ state: undefined, existed: false, changed: false, clocksChanged: false });
  for (const id of ids) if (!slots.has(id)) slots.set(id, absent());
  return slots;
}

/** Applies `items` (all batchable); returns one outcome per item, in order. Throws what the database refuses. */
export async function applyBatch(
  tx: Tx,
  userId: UserId,
  now: Date,
  items: readonly BatchItem[],
): Promise<MutationOutcome[]> {
  const stampOf = (item: BatchItem): Stamp => ({ userId, version: item.version, hlc: item.hlc, now });
  const moodIds = new Set<string>();
  for (const { checked } of items) {
    if (checked.ok && checked.name.startsWith('mood.')) {
      moodIds.add((checked.args as MutatorArgs<'mood.delete@1'>).id.toLowerCase());
    }
  }
  const moods = await lockMoods(tx, userId, [...moodIds]);
  const revisions: Array<MoodRevision & { moodEntryId: string }> = [];
  const copingRows = new Map<string, typeof copingToolsUsage.$inferInsert>();
  const copingItems: Array<{ index: number; id: string; first: boolean; asSent: boolean }> = [];

  const outcomes: MutationOutcome[] = items.map((item, index) => {
    const { checked } = item;
    if (!checked.ok) return checked.rejection;
    if (checked.name === 'coping.log@1') {
      const args = checked.args as MutatorArgs<'coping.log@1'>;
      const id = args.id.toLowerCase();
      const first = !copingRows.has(id);
      copingItems.push({ index, id, first, asSent: id === args.id });
      // CF12: the first use logged under an id stays; a later one is a no-op.
      if (first) copingRows.set(id, copingInsert(userId, args, item.version, now));
      return OK;
    }
    const args = checked.args as MutatorArgs<'mood.upsert@1'> | MutatorArgs<'mood.delete@1'>;
    const slot = moods.get(args.id.toLowerCase());
    if (slot === undefined) throw new Error('a mood entry of the run was not planned');
    let change;
    try {
      change =
        checked.name === 'mood.upsert@1'
          ? planMoodUpsert(slot.state, args as MutatorArgs<'mood.upsert@1'>, stampOf(item))
          : planMoodDelete(slot.state, stampOf(item));
    } catch (error) {
      return rejection(error);
    }
    if (change === null) return OK;
    slot.state = change.state;
    slot.changed = true;
    slot.clocksChanged ||= change.clocksChanged;
    if (change.revision !== null) revisions.push({ ...change.revision, moodEntryId: change.state.row.id });
    return change.created ? CREATED : OK;
  });

  await writeMoods(tx, userId, now, [...moods.values()], revisions);

  if (copingRows.size > 0) {
    const inserted = await tx
      .insert(copingToolsUsage)
      .values([...copingRows.values()])
      .onConflictDoNothing({ target: copingToolsUsage.id })
      .returning({ id: copingToolsUsage.id });
    const taken = new Set(copingRows.keys());
    for (const { id } of inserted) taken.delete(id);
    for (const { index, id, first, asSent } of copingItems) {
      if (first && asSent && !taken.has(id)) outcomes[index] = CREATED;
    }
    if (taken.size > 0) {
      // Not inserted: logged before (ok), or an id RLS hides, i.e. another account's (forbidden).
      const mine = await tx
        .select({ id: copingToolsUsage.id })
        .from(copingToolsUsage)
        .where(sql`${copingToolsUsage.id} = any(${sql.param([...taken])}::uuid[])`);
      for (const { id } of mine) taken.delete(id);
      for (const { index, id } of copingItems) {
        if (taken.has(id)) {
          outcomes[index] = rejection(
            new MutationRejected('forbidden', 'This entry id belongs to another account; it was not saved.'),
          );
        }
      }
    }
  }
  return outcomes;
}

/** The columns a mood mutation writes, as a json_to_recordset record (`MOOD_RECORD`). */
function moodColumns(row: MoodRow) {
  return {
    mood: row.mood,
    energy: row.energy,
    anxiety: row.anxiety,
    sleep_hours: row.sleepHours,
    emotions: row.emotions,
    note: row.note,
    hlc: row.hlc,
    version: row.version,
    deleted_at: row.deletedAt?.toISOString() ?? null,
    updated_at: row.updatedAt.toISOString(),
  };
}

const MOOD_RECORD = sql.raw(
  'id uuid, mood smallint, energy smallint, anxiety smallint, sleep_hours real, emotions text[], note text, ' +
    'hlc text, version bigint, deleted_at timestamptz, updated_at timestamptz',
);

async function writeMoods(
  tx: Tx,
  userId: UserId,
  now: Date,
  slots: MoodSlot[],
  revisions: Array<MoodRevision & { moodEntryId: string }>,
): Promise<void> {
  const created = slots.filter((s) => s.changed && !s.existed).map((s) => s.state!);
  const updated = slots.filter((s) => s.changed && s.existed).map((s) => s.state!);
  const clocked = slots.filter((s) => s.clocksChanged).map((s) => s.state!);
  if (created.length > 0) {
    const rows = created.map(({ row }) => ({
      id: row.id,
      recorded_at: row.recordedAt.toISOString(),
      created_at: row.createdAt.toISOString(),
      ...moodColumns(row),
    }));
    await tx.execute(sql`
      insert into ${moodEntries} (id, user_id, recorded_at, mood, energy, anxiety, sleep_hours, emotions, note, hlc,
        version, deleted_at, created_at, updated_at)
      select r.id, ${userId}::uuid, r.recorded_at, r.mood, r.energy, r.anxiety, r.sleep_hours, r.emotions, r.note,
        r.hlc, r.version, r.deleted_at, r.created_at, r.updated_at
      from json_to_recordset(${JSON.stringify(rows)}::json) as r(${MOOD_RECORD}, recorded_at timestamptz, created_at timestamptz)`);
  }
  if (updated.length > 0) {
    const rows = updated.map(({ row }) => ({ id: row.id, ...moodColumns(row) }));
    await tx.execute(sql`
      update ${moodEntries} as m set
        mood = r.mood, energy = r.energy, anxiety = r.anxiety, sleep_hours = r.sleep_hours,
        emotions = r.emotions, note = r.note, hlc = r.hlc, version = r.version, deleted_at = r.deleted_at,
        updated_at = r.updated_at
      from json_to_recordset(${JSON.stringify(rows)}::json) as r(${MOOD_RECORD})
      where m.id = r.id`);
  }
  if (revisions.length > 0) {
    await tx
      .insert(moodRevisions)
      .values(revisions.map((r) => ({ id: newId(), userId, ...r, createdAt: now })));
  }
  if (clocked.length > 0) {
    const rows = clocked.map(({ row, clocks }) => ({ row_id: row.id, hlcs: clocks }));
    await tx.execute(sql`
      insert into ${fieldClocks} (user_id, table_name, row_id, hlcs)
      select ${userId}::uuid, 'mood_entries', r.row_id, r.hlcs
      from json_to_recordset(${JSON.stringify(rows)}::json) as r(row_id uuid, hlcs jsonb)
      on conflict (user_id, table_name, row_id) do update set hlcs = excluded.hlcs`);
  }
}
