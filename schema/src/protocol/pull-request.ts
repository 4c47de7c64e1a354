import * as z from 'zod/mini';
import { Uuid } from './common.ts';

/** How many version ranges a pull may ask to leave out. */
export const MAX_SKIP_RANGES = 64;

/** `POST /sync/pull`: the changes after `cursor` (0 = everything), in pages. */
export const PullRequest = z.strictObject({
  protocolVersion: z.int(),
  clientId: Uuid,
  cursor: z.int().check(z.minimum(0)),
  limit: z.optional(z.int().check(z.minimum(1), z.maximum(5_000))),
  /**
   * Protocol 4: versions the device already holds as the server has them (the `v` of its own creates, PU12), as
   * inclusive ranges `[from, to]`; rows still at one of these versions are left out of the page (PL11). Ignored on
   * a reset, which sends every row.
   */
  skip: z.optional(
    z
      .array(
        z
          .tuple([z.int().check(z.minimum(1)), z.int().check(z.minimum(1))])
          .check(z.refine(([from, to]) => from <= to, { message: 'a skip range must have from <= to' })),
      )
      .check(z.maxLength(MAX_SKIP_RANGES)),
  ),
});
export type PullRequest = z.infer<typeof PullRequest>;
