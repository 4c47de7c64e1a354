import * as z from 'zod/mini';
import { EpochMs, Seq } from './common.ts';
import { Lane } from './lane.ts';

/**
 * The fate of one seq. `ok`: applied now. `dup`: processed before (seq ≤ the lane's last seq), not again; from
 * protocol 5 it says how that ended (`rejected`, or applied).
 * `rejected`: will never apply (validation, illegal transition, forbidden, conflict); recorded on the server,
 * and the lane moves past it so it never jams the queue. The device drops it from its outbox and shows the user
 * `message`, which says what to do.
 */
export const MutationResult = z.discriminatedUnion('status', [
  z.strictObject({
    seq: Seq,
    status: z.literal('ok'),
    /**
     * Protocol 4: the mutation created its row exactly as the device computed it from the arguments, and `v` is
     * the version that row got (its `updatedAt`, where it has one, is the push's `at`). Such a row is not sent back
     * by a pull that lists `v` in its `skip` (SPEC PU12, PL11).
     */
    v: z.optional(z.int().check(z.minimum(1))),
  }),
  z.strictObject({
    seq: Seq,
    status: z.literal('dup'),
    /**
     * Protocol 5: the mutation was rejected when it was first processed, with this code and message (its first
     * answer may have been lost); the device treats the `dup` as that rejection. Absent: it was applied (`ok`).
     * Never sent to a client of protocol 4 or older (SPEC PU13).
     */
    rejected: z.optional(z.strictObject({ code: z.string(), message: z.string() })),
  }),
  z.strictObject({
    seq: Seq,
    status: z.literal('rejected'),
    code: z.string(),
    message: z.string(),
  }),
]);
export type MutationResult = z.infer<typeof MutationResult>;

export const PushResponse = z.strictObject({
  /** The protocol the request was sent with: every answer is in its client's own protocol (SPEC PV3). */
  protocolVersion: z.int(),
  lane: Lane,
  /** One result per seq the server looked at, in order. A gap stops the batch: later seqs get no result. */
  results: z.array(MutationResult),
  /** The lane's last seq the server has durably processed; the device may clear its outbox up to it. */
  lastSeq: z.int().check(z.minimum(0)),
  serverTime: EpochMs,
  /** Protocol 4: the time the server stamped on the rows this push changed (`updatedAt`). */
  at: z.optional(EpochMs),
});
export type PushResponse = z.infer<typeof PushResponse>;

/**
 * The first protocol whose `ok` confirms a row the device created (`v`) and whose push answer carries the rows'
 * commit time (`at`), so the device keeps its own row without pulling it back (SPEC PU12). Older clients get neither.
 */
export const OWN_ROWS_SINCE_PROTOCOL = 4;

/** The first protocol whose `dup` says how the mutation ended (`rejected`); older clients get a bare `dup`. */
export const DUP_OUTCOME_SINCE_PROTOCOL = 5;
