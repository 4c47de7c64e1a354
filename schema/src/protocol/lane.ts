import * as z from 'zod/mini';

/**
 * Push lanes. `critical` (incidents and their events) is pushed first and alone, so a panic never waits behind
 * a backlog; `user` carries everything else the user edits; `bulk` carries sensor samples, never pulled back.
 */
export const LANES = ['critical', 'user', 'bulk'] as const;
export const Lane = z.enum(LANES);
export type Lane = z.infer<typeof Lane>;
