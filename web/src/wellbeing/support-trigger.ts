/**
 * When the support sheet opens by itself (SPEC WB20): after a check-in at the lowest mood score. It opens for the
 * user alone; nothing is sent, flagged or scored for anyone else (NICE NG225, docs/safety-practice.md).
 */

/** The lowest score of the mood scale (mood_entries.mood 1 … 5). */
export const LOWEST_MOOD = 1;

/** The support route's parameter when a check-in opened it (`#/support/check-in`). */
export const SUPPORT_FROM_CHECK_IN = 'check-in';

/** The support route's parameter when a questionnaire answer opened it (PHQ-9 item 9, SPEC WB41). */
export const SUPPORT_FROM_QUESTIONNAIRE = 'questionnaire';

export function checkInOpensSupport(mood: number): boolean {
  return mood <= LOWEST_MOOD;
}
