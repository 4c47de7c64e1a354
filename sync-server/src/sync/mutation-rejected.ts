/** The codes a rejected mutation carries (PushResponse `rejected.code`); the device shows `message`. */
export type RejectionCode =
  | 'unknown_mutator'
  | 'wrong_lane'
  | 'invalid_args'
  | 'illegal_transition'
  | 'unknown_incident'
  | 'forbidden'
  | 'conflict'
  | 'deleted';

/**
 * A permanent failure of one mutation: it will never apply, however often it is retried. Thrown inside the
 * mutation's savepoint, it rolls back that mutation only; the push records it in `mutation_errors`, answers
 * `rejected`, and still moves the lane past its seq so the queue never jams.
 */
export class MutationRejected extends Error {
  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message);
  }
}
