/**
 * The coping tools the app offers (issue #16 item 2). Every one works offline and needs no audio download: the
 * words are here and the breathing guide is a CSS animation. The ids are what `coping_tools_usage.tool` stores,
 * so they never change once shipped. "My distraction list" and "My reasons for living" come from the user's
 * safety plan and join this list when it exists.
 */

export const COPING_TOOL_IDS = [
  'paced_breathing',
  'grounding_54321',
  'cold_water_tipp',
  'urge_surfing',
] as const;
export type CopingToolId = (typeof COPING_TOOL_IDS)[number];

export interface CopingTool {
  readonly id: CopingToolId;
  readonly name: string;
  /** One plain sentence: what it is and how long it takes. */
  readonly summary: string;
}

/** The default order, used until the user's own ratings say otherwise (`orderCopingTools`). */
export const COPING_TOOLS: readonly CopingTool[] = [
  { id: 'paced_breathing', name: 'Slow breathing', summary: 'Breathe with a moving circle. 2 minutes.' },
  {
    id: 'grounding_54321',
    name: '5-4-3-2-1 grounding',
    summary: 'Notice what is around you, one sense at a time.',
  },
  { id: 'cold_water_tipp', name: 'Cold water', summary: 'Cool your face to calm your body fast. 1 minute.' },
  { id: 'urge_surfing', name: 'Ride the wave', summary: 'Watch an urge rise and fall without acting on it.' },
];

export function isCopingToolId(value: string | null | undefined): value is CopingToolId {
  return COPING_TOOL_IDS.some((id) => id === value);
}

export function copingTool(id: CopingToolId): CopingTool {
  const tool = COPING_TOOLS.find((t) => t.id === id);
  if (tool === undefined) throw new Error(`no coping tool ${id}`);
  return tool;
}
