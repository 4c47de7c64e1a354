/**
 * What the sync protocol needs to know of a questionnaire result, without the questionnaires' wording (which lives
 * in screeners.ts and loads only with its screen): the ids, how many answers each takes, the answer range, and
 * the total. The mutator's args and the registry's row builder import this, and they are in the app's first visit.
 */
export const SCREENER_IDS = ['phq9', 'gad7'] as const;
export type ScreenerId = (typeof SCREENER_IDS)[number];

/** How many items each questionnaire has: PHQ-9 9, GAD-7 7. */
export const SCREENER_ITEM_COUNT: Readonly<Record<ScreenerId, number>> = { phq9: 9, gad7: 7 };

/** Each answer is scored 0 (Not at all) … 3 (Nearly every day). */
export const SCREENER_ANSWER_MAX = 3;

/** The total of a complete, valid set of answers (scoreScreener checks them; the protocol's args already did). */
export function screenerTotal(answers: readonly number[]): number {
  return answers.reduce((sum, answer) => sum + answer, 0);
}
