import { describe, expect, it } from 'vitest';
import { EMPTY_MOOD, moodChanges } from './mood-edit.ts';

const saved = {
  mood: 2,
  energy: 3,
  anxiety: null,
  sleepHours: 6,
  emotions: ['tired', 'sad'],
  note: 'long day',
};

describe('mood check-in edits', () => {
  it('[WB46] a new check-in sends every field; an edit only the ones the person changed', () => {
    expect(moodChanges(null, { ...EMPTY_MOOD, mood: 4, note: '  ' })).toEqual({
      fields: { mood: 4, energy: null, anxiety: null, sleepHours: null, emotions: [], note: null },
    });
    expect(
      moodChanges(saved, { ...saved, anxiety: 4, emotions: ['sad', 'tired'], note: 'long day ' }),
    ).toEqual({
      fields: { anxiety: 4 },
    });
    expect(moodChanges(saved, { ...saved, sleepHours: null, emotions: ['sad'] })).toEqual({
      fields: { sleepHours: null, emotions: ['sad'] },
    });
    expect(moodChanges(saved, { ...saved })).toBeNull();
  });

  it('[WB46] a form without a mood, or with sleep outside 0–24 hours, says why and sends nothing', () => {
    expect(moodChanges(null, EMPTY_MOOD)).toEqual({ error: 'Choose how you feel first.' });
    expect(moodChanges(saved, { ...saved, sleepHours: 25 })).toEqual({
      error: 'Hours of sleep are between 0 and 24.',
    });
  });
});
