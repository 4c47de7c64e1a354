/**
 * One use of a coping tool as the `coping.log@1` mutation logs it (SPEC WB23): the tool, when the exercise
 * started, how long it ran, whether it was finished, distress 0–10 before and after, and helpfulness 1–5. A rating
 * the user skipped is left out, never guessed. The screen logs each use once, when it is saved or left.
 */
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import type { CopingToolId } from './coping-tools.ts';

export interface CopingUse {
  id: string;
  tool: CopingToolId;
  startedAt: number;
  /** When the exercise ended (finished or stopped); null = still running when the use was logged. */
  endedAt: number | null;
  completed: boolean;
  distressBefore: number | null;
  distressAfter: number | null;
  helpfulness: number | null;
}

export function copingLogArgs(use: CopingUse, now: number): MutatorArgs<'coping.log@1'> {
  const end = use.endedAt ?? now;
  return {
    id: use.id,
    tool: use.tool,
    startedAt: use.startedAt,
    durationSeconds: Math.max(0, Math.round((end - use.startedAt) / 1000)),
    completed: use.completed,
    ...(use.distressBefore !== null && { distressBefore: use.distressBefore }),
    ...(use.distressAfter !== null && { distressAfter: use.distressAfter }),
    ...(use.helpfulness !== null && { helpfulness: use.helpfulness }),
  };
}
