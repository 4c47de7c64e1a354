import { describe, expect, it } from 'vitest';
import { checkInOpensSupport, LOWEST_MOOD } from './support-trigger.ts';

describe('when the support sheet opens by itself (issue #16)', () => {
  it('[WB20] a check-in at the lowest mood opens it, any other score does not', () => {
    expect(LOWEST_MOOD).toBe(1);
    expect([1, 2, 3, 4, 5].map(checkInOpensSupport)).toEqual([true, false, false, false, false]);
  });
});
