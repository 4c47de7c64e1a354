/**
 * What a mood check-in form holds and what an edit sends. An edit sends only the fields the person changed: each
 * field wins or loses on its own against another device's edit (field-level last-writer-wins, SPEC CF rules), so
 * re-sending an unchanged field could overwrite a newer change made elsewhere.
 */
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';

export type MoodFields = {
  mood: number | null;
  energy: number | null;
  anxiety: number | null;
  sleepHours: number | null;
  emotions: readonly string[];
  note: string;
};

export type MoodUpsertFields = MutatorArgs<'mood.upsert@1'>['fields'];

export const EMPTY_MOOD: MoodFields = {
  mood: null,
  energy: null,
  anxiety: null,
  sleepHours: null,
  emotions: [],
  note: '',
};

/** The form's values from a stored entry. */
export function moodFieldsOf(entry: {
  mood: number;
  energy: number | null;
  anxiety: number | null;
  sleepHours: number | null;
  emotions: readonly string[];
  note: string | null;
}): MoodFields {
  return {
    mood: entry.mood,
    energy: entry.energy,
    anxiety: entry.anxiety,
    sleepHours: entry.sleepHours,
    emotions: entry.emotions,
    note: entry.note ?? '',
  };
}

/**
 * The fields to send: all of them for a new entry (`before` null), else only those that differ. Returns null
 * when there is nothing to save, or a reason when the form cannot be saved (no mood chosen, sleep out of 0–24).
 */
export function moodChanges(
  before: MoodFields | null,
  after: MoodFields,
): { fields: MoodUpsertFields } | { error: string } | null {
  if (after.mood === null) return { error: 'Choose how you feel first.' };
  if (after.sleepHours !== null && !(after.sleepHours >= 0 && after.sleepHours <= 24)) {
    return { error: 'Hours of sleep are between 0 and 24.' };
  }
  const note = after.note.trim() === '' ? null : after.note.trim();
  const next: MoodUpsertFields = {
    mood: after.mood,
    energy: after.energy,
    anxiety: after.anxiety,
    sleepHours: after.sleepHours,
    emotions: [...after.emotions],
    note,
  };
  if (before === null) return { fields: next };
  const previousNote = before.note.trim() === '' ? null : before.note.trim();
  const fields: MoodUpsertFields = {};
  if (before.mood !== after.mood) fields.mood = after.mood;
  if (before.energy !== after.energy) fields.energy = after.energy;
  if (before.anxiety !== after.anxiety) fields.anxiety = after.anxiety;
  if (before.sleepHours !== after.sleepHours) fields.sleepHours = after.sleepHours;
  if ([...before.emotions].sort().join('\n') !== [...after.emotions].sort().join('\n')) {
    fields.emotions = [...after.emotions];
  }
  if (previousNote !== note) fields.note = note;
  return Object.keys(fields).length === 0 ? null : { fields };
}
