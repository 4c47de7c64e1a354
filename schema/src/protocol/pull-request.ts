import * as z from 'zod/mini';
import { Uuid } from './common.ts';

/** `POST /sync/pull`: the changes after `cursor` (0 = everything), in pages. */
export const PullRequest = z.strictObject({
  protocolVersion: z.int(),
  clientId: Uuid,
  cursor: z.int().check(z.minimum(0)),
  limit: z.optional(z.int().check(z.minimum(1), z.maximum(5_000))),
});
export type PullRequest = z.infer<typeof PullRequest>;
