import type { UserId } from '@vitalwatch/schema/ids';
import type { Tx } from '../db/database.ts';

/** What a mutator sees: the mutation's savepoint, whose user it is, and the version it stamps on changed rows. */
export type MutationContext = {
  /** The mutation's own savepoint inside the push transaction (RLS on, as the user). */
  tx: Tx;
  userId: UserId;
  /** Every synced row this mutation changes gets this `version` (0 on the bulk lane, which stamps none). */
  version: number;
  /** The device's HLC for this edit, clamped to server time + 5 min. */
  hlc: string;
  now: Date;
};

/**
 * `ok`: applied (or already applied: mutators are idempotent by id). `rejected`: the mutation's writes are kept
 * (e.g. an illegal incident event is stored with outcome `illegal`) but the device is told it did not take effect.
 * A mutator that must write nothing throws `MutationRejected` instead.
 *
 * `created`: the mutation created its row, and every column the device sees is what the device computed from the
 * arguments alone (version and `updatedAt` aside), so a device told so need not pull the row back (SPEC PU12).
 */
export type MutationOutcome =
  | { status: 'ok'; created?: true }
  /** `kept`: the mutation's writes stand (an illegal incident event is stored, CF3), so its version is used. */
  | { status: 'rejected'; code: string; message: string; kept?: true };

export const OK: MutationOutcome = { status: 'ok' };
export const CREATED: MutationOutcome = { status: 'ok', created: true };
