import { describe, expect, it } from 'vitest';
import { GAD7, PHQ9, SCREENER_ANSWERS, scoreScreener, screenerTrend } from './screeners.ts';
import { SCREENER_ANSWER_MAX, SCREENER_ITEM_COUNT } from './screener-shape.ts';

describe('check-in questionnaires', () => {
  it('[WB40] PHQ-9 has its 9 standard items and GAD-7 its 7, each answered 0–3 on one four-point scale', () => {
    expect(PHQ9.items).toHaveLength(9);
    expect(GAD7.items).toHaveLength(7);
    expect(SCREENER_ANSWERS).toEqual([
      'Not at all',
      'Several days',
      'More than half the days',
      'Nearly every day',
    ]);
    // The protocol's shape (without the wording, for the first visit) agrees with the questionnaires.
    expect(SCREENER_ITEM_COUNT).toEqual({ phq9: PHQ9.items.length, gad7: GAD7.items.length });
    expect(SCREENER_ANSWER_MAX).toBe(SCREENER_ANSWERS.length - 1);
    expect(PHQ9.items[8]).toBe(
      'Thoughts that you would be better off dead or of hurting yourself in some way',
    );
    expect(GAD7.items[0]).toBe('Feeling nervous, anxious or on edge');
  });

  it('[WB40] the total is the sum of the answers and falls into the published severity bands at their edges', () => {
    const phq = (total: number) => {
      const answers = Array.from({ length: 9 }, (_, i) => Math.max(0, Math.min(3, total - i * 3)));
      return scoreScreener(PHQ9, answers);
    };
    expect([0, 4, 5, 9, 10, 14, 15, 19, 20, 27].map((t) => [phq(t).total, phq(t).band])).toEqual([
      [0, 'Minimal'],
      [4, 'Minimal'],
      [5, 'Mild'],
      [9, 'Mild'],
      [10, 'Moderate'],
      [14, 'Moderate'],
      [15, 'Moderately severe'],
      [19, 'Moderately severe'],
      [20, 'Severe'],
      [27, 'Severe'],
    ]);
    expect(phq(27).maxTotal).toBe(27);
    const gad = scoreScreener(GAD7, [3, 3, 3, 3, 3, 0, 0]);
    expect([gad.total, gad.band, gad.maxTotal]).toEqual([15, 'Severe', 21]);
    expect(scoreScreener(GAD7, [1, 1, 1, 1, 0, 0, 0]).band).toBe('Minimal');
  });

  it('[WB41] PHQ-9 item 9 above "Not at all" offers support, whatever the total; nothing else does', () => {
    const onlyItem9 = [0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(scoreScreener(PHQ9, onlyItem9)).toMatchObject({ total: 1, band: 'Minimal', offerSupport: true });
    expect(scoreScreener(PHQ9, [3, 3, 3, 3, 3, 3, 3, 3, 0]).offerSupport).toBe(false);
    expect(scoreScreener(GAD7, [3, 3, 3, 3, 3, 3, 3]).offerSupport).toBe(false);
  });

  it('[WB40] a partial or out-of-range set of answers has no score (a clear error, not a wrong number)', () => {
    expect(() => scoreScreener(PHQ9, [0, 1, 2])).toThrow(/9 questions; got 3/);
    expect(() => scoreScreener(GAD7, [0, 1, 2, 3, 4, 0, 0])).toThrow(/0–3; got 4/);
    expect(() => scoreScreener(GAD7, [0, 1, 2, 1.5, 0, 0, 0])).toThrow(/got 1.5/);
  });

  it('[WB42] a trend names a direction only for a change of at least the meaningful change (PHQ-9 5, GAD-7 4)', () => {
    expect(screenerTrend(PHQ9, [12])).toBeNull();
    expect(screenerTrend(PHQ9, [18, 14, 13])).toEqual({
      direction: 'better',
      change: -5,
      from: 18,
      to: 13,
      n: 3,
    });
    expect(screenerTrend(PHQ9, [10, 14])?.direction).toBe('about the same');
    expect(screenerTrend(GAD7, [6, 10])?.direction).toBe('worse');
    expect(screenerTrend(GAD7, [10, 7])?.direction).toBe('about the same');
  });
});
