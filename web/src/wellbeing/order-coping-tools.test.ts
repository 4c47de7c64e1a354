import { describe, expect, it } from 'vitest';
import { COPING_TOOLS } from './coping-tools.ts';
import { MIN_RATED_USES, orderCopingTools, toolEffect } from './order-coping-tools.ts';

type Seed = { tool: string; before: number | null; after: number | null; helpfulness?: number };
const rows = (seeds: Seed[]) =>
  seeds.map((s) => ({
    tool: s.tool,
    distressBefore: s.before,
    distressAfter: s.after,
    helpfulness: s.helpfulness ?? null,
  }));
const times = (n: number, seed: Seed) => Array.from({ length: n }, () => seed);
const ids = (tools: ReadonlyArray<{ id: string }>) => tools.map((t) => t.id);
const DEFAULT = ids(COPING_TOOLS);

describe('which coping tools helped this user most (issue #16)', () => {
  it('[WB22] without enough rated uses the default order stays', () => {
    expect(orderCopingTools(COPING_TOOLS, [])).toEqual(COPING_TOOLS);
    const few = rows(
      times(MIN_RATED_USES - 1, { tool: 'urge_surfing', before: 9, after: 1, helpfulness: 5 }),
    );
    expect(ids(orderCopingTools(COPING_TOOLS, few))).toEqual(DEFAULT);
  });

  it('[WB22] tools with enough rated uses go first by mean distress drop, then helpfulness; the rest keep their order', () => {
    const uses = rows([
      // urge_surfing: drops 4, 2, 3 → mean 3
      { tool: 'urge_surfing', before: 8, after: 4 },
      { tool: 'urge_surfing', before: 6, after: 4 },
      { tool: 'urge_surfing', before: 7, after: 4 },
      // cold_water_tipp: drops 5, 5, 2 → mean 4 (goes first)
      { tool: 'cold_water_tipp', before: 9, after: 4, helpfulness: 2 },
      { tool: 'cold_water_tipp', before: 8, after: 3 },
      { tool: 'cold_water_tipp', before: 6, after: 4 },
      // grounding: mean drop 3 like urge_surfing, higher helpfulness → before it
      { tool: 'grounding_54321', before: 5, after: 2, helpfulness: 5 },
      { tool: 'grounding_54321', before: 5, after: 2, helpfulness: 4 },
      { tool: 'grounding_54321', before: 5, after: 2 },
      // A use without an after rating does not count as rated.
      { tool: 'paced_breathing', before: 9, after: null, helpfulness: 5 },
    ]);
    expect(ids(orderCopingTools(COPING_TOOLS, uses))).toEqual([
      'cold_water_tipp',
      'grounding_54321',
      'urge_surfing',
      'paced_breathing',
    ]);
    expect(toolEffect('cold_water_tipp', uses)).toEqual({ ratedUses: 3, meanDrop: 4, meanHelpfulness: 2 });
    expect(toolEffect('paced_breathing', uses)).toEqual({ ratedUses: 0, meanDrop: null, meanHelpfulness: 5 });
  });

  it('[WB22] a tool after which distress did not drop on average does not move up', () => {
    const uses = rows([
      ...times(4, { tool: 'urge_surfing', before: 5, after: 6, helpfulness: 4 }),
      ...times(3, { tool: 'grounding_54321', before: 5, after: 5 }),
    ]);
    expect(ids(orderCopingTools(COPING_TOOLS, uses))).toEqual(DEFAULT);
  });
});
