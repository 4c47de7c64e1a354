/**
 * Which tools helped this user most (SPEC WB22): the list and the support sheet put them first. Only the user's own
 * logged uses count, only on this device's copy of them, and nothing here is shown to anyone else.
 *
 * A tool moves up once it has MIN_RATED_USES uses rated with distress before and after. Among those, the larger
 * mean drop in distress (before − after, 0–10) goes first, then the higher mean helpfulness (1–5); a tool whose
 * mean drop is not above zero does not move up. Every other tool keeps its default place, after the ones that
 * moved. Fewer uses would let one good afternoon reorder the list; the screen says how many it takes.
 */
import type { CopingRow } from '@vitalwatch/schema/protocol/rows';
import type { CopingTool } from './coping-tools.ts';

/** Rated uses (distress before and after) a tool needs before its results can move it up. */
export const MIN_RATED_USES = 3;

export interface ToolEffect {
  /** Uses with distress rated before and after. */
  ratedUses: number;
  /** Mean of before − after over the rated uses; null without any. */
  meanDrop: number | null;
  /** Mean helpfulness (1–5) over the uses that have one; null without any. */
  meanHelpfulness: number | null;
}

type Use = Pick<CopingRow, 'tool' | 'distressBefore' | 'distressAfter' | 'helpfulness'>;

const mean = (values: readonly number[]) =>
  values.length === 0 ? null : values.reduce((sum, v) => sum + v, 0) / values.length;

export function toolEffect(tool: string, uses: readonly Use[]): ToolEffect {
  const mine = uses.filter((u) => u.tool === tool);
  const drops = mine.flatMap((u) =>
    u.distressBefore != null && u.distressAfter != null ? [u.distressBefore - u.distressAfter] : [],
  );
  const helpfulness = mine.flatMap((u) => (u.helpfulness == null ? [] : [u.helpfulness]));
  return { ratedUses: drops.length, meanDrop: mean(drops), meanHelpfulness: mean(helpfulness) };
}

/** `tools` (in their default order) with the ones that helped this user most first. Stable otherwise. */
export function orderCopingTools<T extends Pick<CopingTool, 'id'>>(
  tools: readonly T[],
  uses: readonly Use[],
): T[] {
  const ranked = tools
    .map((tool, index) => ({ tool, index, effect: toolEffect(tool.id, uses) }))
    .filter(({ effect }) => effect.ratedUses >= MIN_RATED_USES && (effect.meanDrop ?? 0) > 0)
    .sort(
      (a, b) =>
        (b.effect.meanDrop ?? 0) - (a.effect.meanDrop ?? 0) ||
        (b.effect.meanHelpfulness ?? 0) - (a.effect.meanHelpfulness ?? 0) ||
        a.index - b.index,
    )
    .map(({ tool }) => tool);
  return [...ranked, ...tools.filter((tool) => !ranked.includes(tool))];
}
