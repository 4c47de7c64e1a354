/**
 * "Ride the wave" (SPEC WB25): a timer that counts up while the user watches an urge without acting on it, with a
 * new prompt every PROMPT_MS. It never ends by itself: the user says when the wave has passed, or stops.
 */
export const URGE_PROMPT_MS = 30_000;

export const URGE_PROMPTS: readonly string[] = [
  'Notice the urge. Where do you feel it in your body?',
  'Give it a name: "This is an urge. It is not an order."',
  'Breathe out slowly. You do not have to act on it.',
  'Is it stronger, the same, or weaker than a minute ago?',
  'Urges rise, peak and fall, like a wave. Stay on top of it.',
  'Loosen your jaw and your shoulders. Keep breathing.',
];

export interface UrgeWaveState {
  /** "m:ss" since the start. */
  elapsed: string;
  prompt: string;
}

export function urgeWaveAt(elapsedMs: number): UrgeWaveState {
  const ms = Math.max(0, elapsedMs);
  const seconds = Math.floor(ms / 1000);
  const prompt = URGE_PROMPTS[Math.floor(ms / URGE_PROMPT_MS) % URGE_PROMPTS.length] ?? '';
  return { elapsed: `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`, prompt };
}
