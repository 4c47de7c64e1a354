/**
 * The crisis line for a region (SPEC WB4): ISO 3166-1 alpha-2, in any case; null when the region is unknown or
 * has no sourced line, so the caller says so plainly and offers the directory (CRISIS_LINE_DIRECTORY).
 */
import type { CrisisLine } from './crisis-line.ts';
import { CRISIS_LINES } from './crisis-lines.ts';

const BY_REGION: ReadonlyMap<string, CrisisLine> = new Map(CRISIS_LINES.map((line) => [line.region, line]));

export function crisisLineFor(region: string | null): CrisisLine | null {
  if (region === null) return null;
  return BY_REGION.get(region.trim().toUpperCase()) ?? null;
}
