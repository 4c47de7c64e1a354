/**
 * One push batch, in one transaction under the user's RLS (FIELD-NOTES §1):
 *
 * 1. Lock the device's lane row (`sync_clients`, created with all three lanes on first sight, which binds the
 *    device id to this user), then, except on the bulk lane, the user's version counter (`user_versions`). The
 *    order is always lane row, then counter, so two pushes never deadlock; the counter lock is what hands out
 *    versions in commit order. The bulk lane stamps no versions, so a 10,000-sample batch never holds up an SOS.
 * 2. For each mutation in order: `seq <= last_seq` → `dup`, not applied; `seq > last_seq + 1` → a gap: stop, no
 *    result for it or anything after; otherwise apply it under a savepoint with `version = ++v`. A rejection is
 *    recorded in `mutation_errors` and still advances `last_seq`.
 * 3. Store `last_seq` and the counter. A transient database error anywhere escapes and rolls everything back.
 */
import { and, eq } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { mutationErrors, syncClients, userVersions } from '@vitalwatch/schema/db/tables';
import { LANES, type Lane } from '@vitalwatch/schema/protocol/lane';
import type { PushRequest } from '@vitalwatch/schema/protocol/push-request';
import type { MutationResult } from '@vitalwatch/schema/protocol/push-response';
import type { Db, Tx } from '../db/database.ts';
import { withUser, type RequestClaims } from '../db/with-user.ts';
import { HttpError } from '../http/http-error.ts';
import { applyMutation } from './apply-mutation.ts';
import { clampHlc } from '@vitalwatch/schema/protocol/hlc';

export type PushOutcome = {
  results: MutationResult[];
  lastSeq: number;
  /** The user's version after the batch when it stamped any; null when it changed no synced row. */
  newVersion: number | null;
};

async function lockLane(tx: Tx, userId: UserId, clientId: string, lane: Lane, now: Date): Promise<number> {
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

async function lockUserVersion(tx: Tx, userId: UserId): Promise<number> {
  await tx.insert(userVersions).values({ userId }).onConflictDoNothing({ target: userVersions.userId });
  const [row] = await tx
    .select({ version: userVersions.version })
    .from(userVersions)
    .where(eq(userVersions.userId, userId))
    .for('update');
  if (row === undefined) throw new Error('user_versions row vanished inside its own transaction');
  return row.version;
}

export async function runPush(
  db: Db,
  claims: RequestClaims,
  push: PushRequest,
  now: Date,
): Promise<PushOutcome> {
  const userId = claims.sub;
  return withUser(db, claims, async (tx) => {
    const startSeq = await lockLane(tx, userId, push.clientId, push.lane, now);
    const stampsVersions = push.lane !== 'bulk';
    const startVersion = stampsVersions ? await lockUserVersion(tx, userId) : 0;

    let lastSeq = startSeq;
    let version = startVersion;
    const results: MutationResult[] = [];
    for (const mutation of push.mutations) {
      if (mutation.seq <= lastSeq) {
        results.push({ seq: mutation.seq, status: 'dup' });
        continue;
      }
      if (mutation.seq > lastSeq + 1) break;
      if (stampsVersions) version += 1;
      const outcome = await applyMutation(
        { tx, userId, version: stampsVersions ? version : 0, hlc: clampHlc(mutation.hlc, now), now },
        push.lane,
        mutation,
      );
      if (outcome.status === 'ok') {
        results.push({ seq: mutation.seq, status: 'ok' });
      } else {
        results.push({ seq: mutation.seq, ...outcome });
        await tx.insert(mutationErrors).values({
          userId,
          clientId: push.clientId,
          lane: push.lane,
          seq: mutation.seq,
          name: mutation.name,
          args: mutation.args ?? null,
          code: outcome.code,
          message: outcome.message,
          createdAt: now,
        });
      }
      lastSeq = mutation.seq;
    }

    if (lastSeq !== startSeq) {
      await tx
        .update(syncClients)
        .set({ lastSeq, lastSeenAt: now })
        .where(and(eq(syncClients.clientId, push.clientId), eq(syncClients.lane, push.lane)));
    }
    if (version !== startVersion) {
      await tx.update(userVersions).set({ version }).where(eq(userVersions.userId, userId));
    }
    return { results, lastSeq, newVersion: version !== startVersion ? version : null };
  });
}
