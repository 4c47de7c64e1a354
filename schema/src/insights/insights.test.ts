import { describe, expect, it } from 'vitest';
import { workOutInsights, type CopingRecord, type InsightInput, type MoodRecord } from './insights.ts';

const DAY = 86_400_000;
const NOW = 1_000 * DAY;
/** Day numbers since the epoch modulo 7 stand in for the user's weekdays. */
const weekdayOf = (at: number) => Math.floor(at / DAY) % 7;
const mood = (
  at: number,
  value: number,
  emotions: string[] = [],
  sleepHours: number | null = null,
): MoodRecord => ({
  recordedAt: at,
  mood: value,
  emotions,
  sleepHours,
});
const input = (over: Partial<InsightInput>): InsightInput => ({
  now: NOW,
  moods: [],
  coping: [],
  screeners: [],
  weekdayOf,
  ...over,
});
const byKey = (result: ReturnType<typeof workOutInsights>, key: string) =>
  result.insights.find((i) => i.key === key);

describe('insights from the user’s own records', () => {
  it('[WB44] the 7-day trend is the least-squares line’s change over the week; 30 days says it needs more', () => {
    // Moods 2, 3, 4, 5 at days 1, 3, 5, 7 of the window: a slope of 0.5 a day, 3.5 points over 7 days.
    const moods = [1, 3, 5, 7].map((d, i) => mood(NOW - 7 * DAY + d * DAY, 2 + i));
    const result = workOutInsights(input({ moods }));
    expect(byKey(result, 'mood-trend-7d')).toMatchObject({
      title: 'Mood over 7 days: rising',
      numbers: { n: 4, effect: { value: 3.5 }, from: NOW - 7 * DAY, to: NOW },
    });
    expect(result.notYet).toContainEqual({
      key: 'mood-trend-30d',
      reason: 'needs 8 check-ins in the last 30 days; you have 4',
    });
  });

  it('[WB44] weekday pattern compares the best and lowest weekdays with 3 check-ins each', () => {
    // Weekday 2: moods 5, 5, 4 (mean 4.7); weekday 4: 2, 2, 3 (mean 2.3); weekday 6: one check-in, not counted.
    const at = (week: number, weekday: number) => (week * 7 + weekday) * DAY + 3_600_000;
    const moods = [
      mood(at(100, 2), 5),
      mood(at(101, 2), 5),
      mood(at(102, 2), 4),
      mood(at(100, 4), 2),
      mood(at(101, 4), 2),
      mood(at(102, 4), 3),
      mood(at(100, 6), 1),
    ];
    const weekday = byKey(workOutInsights(input({ moods })), 'weekday');
    expect(weekday).toMatchObject({
      title: 'Tuesdays are your best days',
      numbers: { n: 6, effect: { value: 2.3 } },
    });
    expect(weekday?.body).toContain('Tuesdays (4.7) than on Thursdays (2.3)');
  });

  it('[WB44] a tag is linked to mood only with 5 check-ins with it and 5 without, and says it is not a cause', () => {
    const moods = [
      ...Array.from({ length: 5 }, (_, i) => mood(NOW - i * DAY, 2, ['tired'])),
      ...Array.from({ length: 5 }, (_, i) => mood(NOW - (10 + i) * DAY, 4, ['calm'])),
    ];
    const result = workOutInsights(input({ moods }));
    const tired = byKey(result, 'tag:tired');
    expect(tired).toMatchObject({
      title: '“tired” goes with lower mood',
      numbers: { n: 10, effect: { value: -2 } },
    });
    expect(tired?.body).toContain('not what caused what');
    const fewer = workOutInsights(input({ moods: moods.slice(1) }));
    expect(byKey(fewer, 'tag:tired')).toBeUndefined();
    expect(fewer.notYet).toContainEqual({
      key: 'tag:tired',
      reason: '“tired” needs 5 check-ins with it and 5 without; you have 4 and 5',
    });
  });

  it('[WB44] the coping tool with the largest mean drop in distress (3 rated uses at least) is named first', () => {
    const use = (tool: string, before: number, after: number, day: number): CopingRecord => ({
      tool,
      startedAt: NOW - day * DAY,
      distressBefore: before,
      distressAfter: after,
    });
    const coping = [
      use('paced_breathing', 8, 4, 1),
      use('paced_breathing', 7, 4, 2),
      use('paced_breathing', 6, 4, 3),
      use('grounding_54321', 5, 4, 4),
      use('grounding_54321', 5, 4, 5),
      use('grounding_54321', 5, 4, 6),
      use('cold_water', 9, 0, 7),
      { tool: 'cold_water', startedAt: NOW, distressBefore: 9, distressAfter: null },
    ];
    const insight = byKey(workOutInsights(input({ coping })), 'coping');
    expect(insight).toMatchObject({
      title: 'Paced breathing lowered your distress most',
      numbers: { n: 3, effect: { value: 3 } },
    });
    expect(insight?.body).toContain('Next: Grounding 54321 (1)');
  });

  it('[WB44] sleep and mood: the Pearson correlation over 10 check-ins with both', () => {
    const moods = Array.from({ length: 10 }, (_, i) => mood(NOW - i * DAY, 1 + (i % 5), [], 4 + (i % 5)));
    const insight = byKey(workOutInsights(input({ moods })), 'sleep');
    expect(insight).toMatchObject({
      title: 'More sleep went with better mood',
      numbers: { n: 10, effect: { value: 1 } },
    });
    expect(workOutInsights(input({ moods: moods.slice(0, 9) })).notYet).toContainEqual({
      key: 'sleep',
      reason: 'needs 10 check-ins with hours of sleep; you have 9',
    });
  });

  it('[WB44] a questionnaire trend uses its meaningful change; no risk score or prediction is ever produced', () => {
    const result = workOutInsights(
      input({
        screeners: [
          { screener: 'phq9', total: 18, completedAt: NOW - 20 * DAY },
          { screener: 'phq9', total: 12, completedAt: NOW },
          { screener: 'gad7', total: 9, completedAt: NOW },
        ],
      }),
    );
    expect(byKey(result, 'screener:phq9')).toMatchObject({
      title: 'PHQ-9 (mood): better',
      numbers: { n: 2, effect: { value: -6 } },
    });
    expect(result.notYet).toContainEqual({
      key: 'screener:gad7',
      reason: 'needs a second GAD-7 (anxiety) result to show a trend',
    });
    for (const insight of result.insights)
      expect(`${insight.title} ${insight.body}`).not.toMatch(/risk|suicid|predict/i);
  });
});
