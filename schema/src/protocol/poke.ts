import * as z from 'zod/mini';

/** Sent on `GET /sync/events` (server-sent events): something changed at `version`; pull if your cursor is older. */
export const Poke = z.strictObject({ type: z.literal('poke'), version: z.int().check(z.minimum(0)) });
export type Poke = z.infer<typeof Poke>;
