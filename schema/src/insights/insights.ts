/**
 * Insights from the user's own records, worked out on the phone (ADR 0031): the same synced rows give the same
 * insights on every device, with no network and no server model. Each insight says in plain words what was seen,
 * with the numbers behind it (how many records, how big the difference, over which days) and how it was worked
 * out. Where there are too few records for a pattern to mean anything, the insight is not made and the reason is
 * returned instead ("needs 5 check-ins with the tag; you have 2"), so the screen can say so.
 *
 * What this never does: score risk, predict self-harm, or send anything to anyone (docs/safety-practice.md). The
 * words describe association in the user's own records, never cause ("on days you tagged 'tired' your mood was
 * lower", not "tiredness lowers your mood").
 */

import { screenerTrend, SCREENERS, type ScreenerId } from '../screeners/screeners.ts';

export type MoodRecord = {
  readonly recordedAt: number;
  /** 1 (very low) … 5 (very good). */
  readonly mood: number;
  readonly emotions: readonly string[];
  readonly sleepHours: number | null;
};

export type CopingRecord = {
  readonly tool: string;
  readonly startedAt: number;
  /** 0 … 10, as the user rated it before and after the tool; null when not rated. */
  readonly distressBefore: number | null;
  readonly distressAfter: number | null;
};

export type ScreenerRecord = {
  readonly screener: ScreenerId;
  readonly total: number;
  readonly completedAt: number;
};

export type InsightKey =
  | 'mood-trend-7d'
  | 'mood-trend-30d'
  | 'weekday'
  | `tag:${string}`
  | 'coping'
  | 'sleep'
  | `screener:${ScreenerId}`;

export type Insight = {
  /** Stable across devices and days: feedback (helpful, dismissed) is kept against it. */
  readonly key: InsightKey;
  readonly title: string;
  readonly body: string;
  readonly numbers: {
    readonly n: number;
    /** What the effect is and its size, e.g. "difference in mean mood" 0.8. */
    readonly effect: { readonly name: string; readonly value: number };
    readonly from: number;
    readonly to: number;
  };
  /** "How was this worked out?" in plain words. */
  readonly method: string;
};

export type NotYet = { readonly key: InsightKey; readonly reason: string };

export type InsightInput = {
  readonly now: number;
  readonly moods: readonly MoodRecord[];
  readonly coping: readonly CopingRecord[];
  readonly screeners: readonly ScreenerRecord[];
  /** The weekday (0 Sunday … 6 Saturday) of a moment in the user's own time zone. */
  readonly weekdayOf: (at: number) => number;
};

const DAY = 86_400_000;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** The minimum records for each kind of insight: below it the insight is not made, and the screen says why. */
export const INSIGHT_MINIMUMS = {
  trend7: 4,
  trend30: 8,
  /** Check-ins on each of the two weekdays compared. */
  weekday: 3,
  /** Check-ins with the tag, and without it. */
  tag: 5,
  /** Rated uses of a tool. */
  coping: 3,
  /** Check-ins with sleep hours. */
  sleep: 10,
} as const;

/** A difference in mean mood smaller than this (on the 1–5 scale) is reported as no clear difference. */
export const MOOD_DIFFERENCE = 0.5;
/** A correlation weaker than this is reported as no clear link. */
export const CLEAR_CORRELATION = 0.3;

export function workOutInsights(input: InsightInput): { insights: Insight[]; notYet: NotYet[] } {
  const insights: Insight[] = [];
  const notYet: NotYet[] = [];
  const add = (result: Insight | NotYet | null) => {
    if (result === null) return;
    if ('reason' in result) notYet.push(result);
    else insights.push(result);
  };
  add(moodTrend(input, 7, INSIGHT_MINIMUMS.trend7, 'mood-trend-7d'));
  add(moodTrend(input, 30, INSIGHT_MINIMUMS.trend30, 'mood-trend-30d'));
  add(weekdayPattern(input));
  for (const result of tagPatterns(input)) add(result);
  add(copingThatHelped(input));
  add(sleepAndMood(input));
  for (const id of Object.keys(SCREENERS) as ScreenerId[]) add(screenerInsight(input, id));
  return { insights, notYet };
}

function moodTrend(input: InsightInput, days: number, minimum: number, key: InsightKey): Insight | NotYet {
  const from = input.now - days * DAY;
  const window = input.moods.filter((m) => m.recordedAt > from && m.recordedAt <= input.now);
  if (window.length < minimum) {
    return { key, reason: `needs ${minimum} check-ins in the last ${days} days; you have ${window.length}` };
  }
  // Least-squares slope of mood against days, times the window: the change the straight line shows over it.
  const slope = leastSquaresSlope(window.map((m) => [(m.recordedAt - from) / DAY, m.mood]));
  const change = round1(slope * days);
  const direction = change >= MOOD_DIFFERENCE ? 'rising' : change <= -MOOD_DIFFERENCE ? 'falling' : 'steady';
  const words = {
    rising: `Your mood has been rising over the last ${days} days, by about ${change} points on the 1–5 scale.`,
    falling: `Your mood has been falling over the last ${days} days, by about ${Math.abs(change)} points on the 1–5 scale.`,
    steady: `Your mood has been about steady over the last ${days} days (a change of ${change} points).`,
  } as const;
  return {
    key,
    title: `Mood over ${days} days: ${direction}`,
    body: words[direction],
    numbers: {
      n: window.length,
      effect: { name: 'change over the period (points)', value: change },
      from,
      to: input.now,
    },
    method: `A straight line fitted through your ${window.length} check-ins of the last ${days} days (least squares); the change is where the line ends minus where it starts. Changes under ${MOOD_DIFFERENCE} points count as steady.`,
  };
}

function weekdayPattern(input: InsightInput): Insight | NotYet {
  const key = 'weekday';
  const byDay = new Map<number, number[]>();
  for (const m of input.moods) {
    const day = input.weekdayOf(m.recordedAt);
    byDay.set(day, [...(byDay.get(day) ?? []), m.mood]);
  }
  const counted = [...byDay.entries()].filter(([, moods]) => moods.length >= INSIGHT_MINIMUMS.weekday);
  if (counted.length < 2) {
    return { key, reason: `needs ${INSIGHT_MINIMUMS.weekday} check-ins on each of at least two weekdays` };
  }
  const means = counted.map(([day, moods]) => ({ day, mean: mean(moods), n: moods.length }));
  means.sort((a, b) => b.mean - a.mean || a.day - b.day);
  const best = means[0]!;
  const worst = means[means.length - 1]!;
  const difference = round1(best.mean - worst.mean);
  const n = best.n + worst.n;
  const [from, to] = span(input.moods.map((m) => m.recordedAt));
  const clear = difference >= MOOD_DIFFERENCE;
  return {
    key,
    title: clear ? `${WEEKDAYS[best.day]}s are your best days` : 'No clear weekday pattern',
    body: clear
      ? `Your mood was on average ${difference} points higher on ${WEEKDAYS[best.day]}s (${round1(best.mean)}) than on ${WEEKDAYS[worst.day]}s (${round1(worst.mean)}).`
      : `Your mood was about the same whatever the day of the week (best and lowest days differ by ${difference} points).`,
    numbers: { n, effect: { name: 'difference in mean mood (points)', value: difference }, from, to },
    method: `The mean mood of your check-ins on each weekday with at least ${INSIGHT_MINIMUMS.weekday} of them, in your own time zone; the highest and lowest are compared. Differences under ${MOOD_DIFFERENCE} points are not called a pattern.`,
  };
}

function tagPatterns(input: InsightInput): (Insight | NotYet)[] {
  const tags = [...new Set(input.moods.flatMap((m) => m.emotions))].sort();
  const [from, to] = span(input.moods.map((m) => m.recordedAt));
  return tags.flatMap((tag): (Insight | NotYet)[] => {
    const key = `tag:${tag}` as const;
    const withTag = input.moods.filter((m) => m.emotions.includes(tag)).map((m) => m.mood);
    const without = input.moods.filter((m) => !m.emotions.includes(tag)).map((m) => m.mood);
    const minimum = INSIGHT_MINIMUMS.tag;
    if (withTag.length < minimum || without.length < minimum) {
      return [
        {
          key,
          reason: `“${tag}” needs ${minimum} check-ins with it and ${minimum} without; you have ${withTag.length} and ${without.length}`,
        },
      ];
    }
    const difference = round1(mean(withTag) - mean(without));
    if (Math.abs(difference) < MOOD_DIFFERENCE) return [];
    const better = difference > 0;
    return [
      {
        key,
        title: `“${tag}” goes with ${better ? 'better' : 'lower'} mood`,
        body: `On check-ins you tagged “${tag}”, your mood was on average ${Math.abs(difference)} points ${better ? 'higher' : 'lower'} than on the others (${round1(mean(withTag))} against ${round1(mean(without))}). This shows what went together, not what caused what.`,
        numbers: {
          n: withTag.length + without.length,
          effect: { name: 'difference in mean mood (points)', value: difference },
          from,
          to,
        },
        method: `Mean mood of the ${withTag.length} check-ins with the tag minus that of the ${without.length} without it. Shown only with at least ${minimum} of each and a difference of ${MOOD_DIFFERENCE} points or more.`,
      },
    ];
  });
}

function copingThatHelped(input: InsightInput): Insight | NotYet {
  const key = 'coping';
  const rated = input.coping.filter(
    (c): c is CopingRecord & { distressBefore: number; distressAfter: number } =>
      c.distressBefore !== null && c.distressAfter !== null,
  );
  const byTool = new Map<string, number[]>();
  for (const c of rated)
    byTool.set(c.tool, [...(byTool.get(c.tool) ?? []), c.distressBefore - c.distressAfter]);
  const tools = [...byTool.entries()]
    .filter(([, drops]) => drops.length >= INSIGHT_MINIMUMS.coping)
    .map(([tool, drops]) => ({ tool, drop: round1(mean(drops)), n: drops.length }))
    .sort((a, b) => b.drop - a.drop || a.tool.localeCompare(b.tool));
  const best = tools[0];
  if (best === undefined) {
    return {
      key,
      reason: `needs ${INSIGHT_MINIMUMS.coping} uses of one coping tool with distress rated before and after`,
    };
  }
  const [from, to] = span(rated.map((c) => c.startedAt));
  return {
    key,
    title:
      best.drop > 0
        ? `${toolName(best.tool)} lowered your distress most`
        : 'No tool has lowered your distress yet',
    body:
      best.drop > 0
        ? `After ${toolName(best.tool)} your distress was on average ${best.drop} points lower (0–10 scale) than before, over ${best.n} uses.` +
          (tools.length > 1
            ? ` Next: ${tools
                .slice(1, 3)
                .map((t) => `${toolName(t.tool)} (${t.drop})`)
                .join(', ')}.`
            : '')
        : `Across the tools you rated, distress was not lower afterwards on average. Trying another tool, or talking to someone, may help.`,
    numbers: { n: best.n, effect: { name: 'mean drop in distress (0–10)', value: best.drop }, from, to },
    method: `For each tool used at least ${INSIGHT_MINIMUMS.coping} times with distress rated before and after: the mean of (before − after). The tool with the largest mean drop is named.`,
  };
}

function sleepAndMood(input: InsightInput): Insight | NotYet {
  const key = 'sleep';
  const pairs = input.moods.filter((m) => m.sleepHours !== null).map((m) => [m.sleepHours!, m.mood] as const);
  if (pairs.length < INSIGHT_MINIMUMS.sleep) {
    return {
      key,
      reason: `needs ${INSIGHT_MINIMUMS.sleep} check-ins with hours of sleep; you have ${pairs.length}`,
    };
  }
  const r = round2(pearson(pairs));
  const [from, to] = span(input.moods.filter((m) => m.sleepHours !== null).map((m) => m.recordedAt));
  const clear = Math.abs(r) >= CLEAR_CORRELATION;
  return {
    key,
    title: clear
      ? r > 0
        ? 'More sleep went with better mood'
        : 'More sleep went with lower mood'
      : 'No clear link between sleep and mood',
    body: clear
      ? `Across ${pairs.length} check-ins, on days you slept more your mood tended to be ${r > 0 ? 'higher' : 'lower'} (correlation ${r}). This shows what went together, not what caused what.`
      : `Across ${pairs.length} check-ins, hours of sleep and mood did not clearly go together (correlation ${r}).`,
    numbers: { n: pairs.length, effect: { name: 'correlation (Pearson r)', value: r }, from, to },
    method: `The Pearson correlation between hours of sleep and mood over your check-ins that have both (−1 to 1). A value between −${CLEAR_CORRELATION} and ${CLEAR_CORRELATION} is not called a link.`,
  };
}

function screenerInsight(input: InsightInput, id: ScreenerId): Insight | NotYet | null {
  const definition = SCREENERS[id];
  const results = input.screeners
    .filter((s) => s.screener === id)
    .sort((a, b) => a.completedAt - b.completedAt);
  if (results.length === 0) return null;
  const key = `screener:${id}` as const;
  const trend = screenerTrend(
    definition,
    results.map((r) => r.total),
  );
  if (trend === null) return { key, reason: `needs a second ${definition.name} result to show a trend` };
  const words = {
    better: `Your ${definition.name} score went from ${trend.from} to ${trend.to}: fewer symptoms.`,
    worse: `Your ${definition.name} score went from ${trend.from} to ${trend.to}: more symptoms. It may help to talk this through with someone you trust or a professional.`,
    'about the same': `Your ${definition.name} score went from ${trend.from} to ${trend.to}: about the same.`,
  } as const;
  return {
    key,
    title: `${definition.name}: ${trend.direction}`,
    body: words[trend.direction],
    numbers: {
      n: trend.n,
      effect: { name: 'change in score (points)', value: trend.change },
      from: results[0]!.completedAt,
      to: results[results.length - 1]!.completedAt,
    },
    method: `Your latest score minus your first. A change of ${definition.meaningfulChange} points or more is more than the questionnaire's measurement noise for one person; smaller changes count as about the same.`,
  };
}

/** The words for a tool id in an insight; tools log ids such as `paced_breathing`. */
function toolName(tool: string): string {
  const words = tool.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function span(times: readonly number[]): [number, number] {
  return times.length === 0 ? [0, 0] : [Math.min(...times), Math.max(...times)];
}

function leastSquaresSlope(points: readonly (readonly [number, number])[]): number {
  const mx = mean(points.map(([x]) => x));
  const my = mean(points.map(([, y]) => y));
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function pearson(pairs: readonly (readonly [number, number])[]): number {
  const mx = mean(pairs.map(([x]) => x));
  const my = mean(pairs.map(([, y]) => y));
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
