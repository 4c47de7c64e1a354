/**
 * A device's lane row (`sync_clients`): its `last_seq`, the push's place in that lane's outbox. The three rows of a
 * device are created together on its first push, which binds the device id to that account (PU6).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { syncClients } from '@vitalwatch/schema/db/tables';
import { LANES, type Lane } from '@vitalwatch/schema/protocol/lane';
import type { Tx } from '../db/database.ts';
import { HttpError } from '../http/http-error.ts';

/** Creates the device's lane rows if missing, locks this lane's row until commit and returns its `last_seq`. */
export async function lockLane(
  tx: Tx,
  userId: UserId,
  clientId: string,
  lane: Lane,
  now: Date,
): Promise<number> {
  await tx
    .insert(syncClients)
    .values(LANES.map((l) => ({ userId, clientId, lane: l, lastSeq: 0, lastSeenAt: now })))
    .onConflictDoNothing({ target: [syncClients.clientId, syncClients.lane] });
  const [row] = await tx
    .select({ lastSeq: syncClients.lastSeq })
    .from(syncClients)
    .where(and(eq(syncClients.clientId, clientId), eq(syncClients.lane, lane)))
    .for('update');
  // The rows exist (the insert found them taken) but RLS hides them: another user's device id.
  if (row === undefined) {
    throw new HttpError(
      409,
      'client_id_taken',
      'This device id is registered to another account. Sign out and in again to give this device a new id.',
    );
  }
  return row.lastSeq;
}

/** Moves the lane's `last_seq` up to `lastSeq`, never down (a bulk push's steps commit one by one). */
export async function advanceLane(
  tx: Tx,
  clientId: string,
  lane: Lane,
  lastSeq: number,
  now: Date,
): Promise<void> {
  await tx
    .update(syncClients)
    .set({ lastSeq: sql`greatest(${syncClients.lastSeq}, ${lastSeq})`, lastSeenAt: now })
    .where(and(eq(syncClients.clientId, clientId), eq(syncClients.lane, lane)));
}
