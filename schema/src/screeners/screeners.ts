/**
 * The two check-in questionnaires the app offers, PHQ-9 (depression) and GAD-7 (anxiety), with their standard
 * items, answer scale, scoring and severity bands (docs/screeners.md gives the published sources). Both are free to
 * reproduce and display; their wording must not be changed, because the bands were validated on it.
 *
 * A score describes the last two weeks to the user and to whom they choose to share a report with. It is never a
 * risk score and never alerts anyone (docs/safety-practice.md). PHQ-9 item 9 above 0 opens the support sheet for
 * the person answering, nothing else (SPEC WB41).
 */

import { SCREENER_ANSWER_MAX, screenerTotal, type ScreenerId } from './screener-shape.ts';

export { SCREENER_IDS, type ScreenerId } from './screener-shape.ts';

/** Every item of both is answered on the same four-point scale, scored 0 … SCREENER_ANSWER_MAX (3). */
export const SCREENER_ANSWERS = [
  'Not at all',
  'Several days',
  'More than half the days',
  'Nearly every day',
] as const;

export type SeverityBand = {
  /** Lowest total in the band; the band runs to the next band's `from` − 1. */
  readonly from: number;
  readonly label: string;
};

export type ScreenerDefinition = {
  readonly id: ScreenerId;
  readonly name: string;
  readonly stem: string;
  readonly items: readonly string[];
  readonly bands: readonly SeverityBand[];
  /**
   * The smallest change in total that is more than measurement noise for one person (PHQ-9: 5 points, Löwe et al.
   * 2004; GAD-7: 4 points, Toussaint et al. 2020). A trend smaller than this is reported as "about the same".
   */
  readonly meaningfulChange: number;
};

const STEM = 'Over the last 2 weeks, how often have you been bothered by any of the following problems?';

export const PHQ9: ScreenerDefinition = {
  id: 'phq9',
  name: 'PHQ-9 (mood)',
  stem: STEM,
  items: [
    'Little interest or pleasure in doing things',
    'Feeling down, depressed, or hopeless',
    'Trouble falling or staying asleep, or sleeping too much',
    'Feeling tired or having little energy',
    'Poor appetite or overeating',
    'Feeling bad about yourself — or that you are a failure or have let yourself or your family down',
    'Trouble concentrating on things, such as reading the newspaper or watching television',
    'Moving or speaking so slowly that other people could have noticed? Or the opposite — being so fidgety or restless that you have been moving around a lot more than usual',
    'Thoughts that you would be better off dead or of hurting yourself in some way',
  ],
  bands: [
    { from: 0, label: 'Minimal' },
    { from: 5, label: 'Mild' },
    { from: 10, label: 'Moderate' },
    { from: 15, label: 'Moderately severe' },
    { from: 20, label: 'Severe' },
  ],
  meaningfulChange: 5,
};

export const GAD7: ScreenerDefinition = {
  id: 'gad7',
  name: 'GAD-7 (anxiety)',
  stem: STEM,
  items: [
    'Feeling nervous, anxious or on edge',
    'Not being able to stop or control worrying',
    'Worrying too much about different things',
    'Trouble relaxing',
    'Being so restless that it is hard to sit still',
    'Becoming easily annoyed or irritable',
    'Feeling afraid as if something awful might happen',
  ],
  bands: [
    { from: 0, label: 'Minimal' },
    { from: 5, label: 'Mild' },
    { from: 10, label: 'Moderate' },
    { from: 15, label: 'Severe' },
  ],
  meaningfulChange: 4,
};

export const SCREENERS: Readonly<Record<ScreenerId, ScreenerDefinition>> = { phq9: PHQ9, gad7: GAD7 };

/** PHQ-9 item 9 (0-based index 8): thoughts of being better off dead or of self-harm. */
export const PHQ9_SELF_HARM_ITEM = 8;

export type ScreenerScore = {
  readonly total: number;
  readonly maxTotal: number;
  readonly band: string;
  /** True when the answers ask for support to be offered at once: PHQ-9 item 9 answered above "Not at all". */
  readonly offerSupport: boolean;
};

/** Scores a complete set of answers; throws on a missing or out-of-range answer (a partial form has no score). */
export function scoreScreener(definition: ScreenerDefinition, answers: readonly number[]): ScreenerScore {
  if (answers.length !== definition.items.length) {
    throw new RangeError(
      `${definition.name} has ${definition.items.length} questions; got ${answers.length} answers`,
    );
  }
  for (const answer of answers) {
    if (!Number.isInteger(answer) || answer < 0 || answer > SCREENER_ANSWER_MAX) {
      throw new RangeError(`every answer is 0–${SCREENER_ANSWER_MAX}; got ${answer}`);
    }
  }
  const total = screenerTotal(answers);
  return {
    total,
    maxTotal: definition.items.length * SCREENER_ANSWER_MAX,
    band: bandOf(definition, total),
    offerSupport: definition.id === 'phq9' && (answers[PHQ9_SELF_HARM_ITEM] ?? 0) > 0,
  };
}

export function bandOf(definition: ScreenerDefinition, total: number): string {
  let label = definition.bands[0]?.label ?? '';
  for (const band of definition.bands) if (total >= band.from) label = band.label;
  return label;
}

export type ScreenerTrend = {
  readonly direction: 'better' | 'worse' | 'about the same';
  /** Latest total minus the first total in the window (negative is fewer symptoms). */
  readonly change: number;
  readonly from: number;
  readonly to: number;
  readonly n: number;
};

/**
 * Compares the latest result with the first one in the list (oldest first). Lower totals are fewer symptoms, so a
 * fall of at least the questionnaire's meaningful change is "better". With fewer than two results there is no trend.
 */
export function screenerTrend(
  definition: ScreenerDefinition,
  totalsOldestFirst: readonly number[],
): ScreenerTrend | null {
  const first = totalsOldestFirst[0];
  const last = totalsOldestFirst[totalsOldestFirst.length - 1];
  if (totalsOldestFirst.length < 2 || first === undefined || last === undefined) return null;
  const change = last - first;
  const direction =
    change <= -definition.meaningfulChange
      ? 'better'
      : change >= definition.meaningfulChange
        ? 'worse'
        : 'about the same';
  return { direction, change, from: first, to: last, n: totalsOldestFirst.length };
}
