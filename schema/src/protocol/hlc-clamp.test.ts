import { expect, it } from 'vitest';
import { clampHlc, HLC_MAX_DRIFT_MS } from './hlc.ts';

it('[CF6] cuts an HLC more than 5 min ahead of the server to server time + 5 min, keeping counter and node', () => {
  const now = new Date(1_800_000_000_000);
  expect(clampHlc('1800000000000-0001-ab', now)).toBe('1800000000000-0001-ab');
  expect(clampHlc(`${now.getTime() + HLC_MAX_DRIFT_MS}-0002-ab`, now)).toBe(
    `${now.getTime() + HLC_MAX_DRIFT_MS}-0002-ab`,
  );
  expect(clampHlc('4102444800000-00ff-c0ffee', now)).toBe(`${now.getTime() + HLC_MAX_DRIFT_MS}-00ff-c0ffee`);
  // Clamped HLCs still order by counter, then node, as text.
  expect(clampHlc('4102444800000-0001-aa', now) < clampHlc('4102444800000-0002-aa', now)).toBe(true);
});
