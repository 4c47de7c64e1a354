import * as z from 'zod/mini';
import { EpochMs, Hlc, Seq, Uuid } from './common.ts';
import { Lane } from './lane.ts';

/** One outbox entry on the wire. `args` is parsed against the mutator's own schema by the server. */
export const Mutation = z.strictObject({
  seq: Seq,
  /** `name@version`, e.g. `mood.upsert@1`. */
  name: z.string().check(z.regex(/^[a-z]+\.[a-z]+@\d+$/)),
  args: z.unknown(),
  hlc: Hlc,
  /** Device time of the edit; informational (ordering never depends on device clocks). */
  createdAt: EpochMs,
});
export type Mutation = z.infer<typeof Mutation>;

/** `POST /sync/push`: one lane's pending mutations, oldest first, contiguous by seq. */
export const PushRequest = z.strictObject({
  protocolVersion: z.int(),
  clientId: Uuid,
  lane: Lane,
  /** Device time when sent; the server answers with its own so the device can measure its clock offset. */
  sentAt: EpochMs,
  mutations: z.array(Mutation).check(z.minLength(1), z.maxLength(1_000)),
});
export type PushRequest = z.infer<typeof PushRequest>;
