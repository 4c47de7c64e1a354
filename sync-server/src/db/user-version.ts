/**
 * The per-user change counter (`user_versions`) that stamps every write to a synced table, so pull can hand out
 * changes in commit order (SPEC PL1). Taking it locks the user's row until the transaction ends, which serialises
 * a user's writers: pushes, recorded uploads and the alert dispatcher.
 */
import { eq } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { userVersions } from '@vitalwatch/schema/db/tables';
import type { Tx } from './database.ts';

/** Locks the user's counter for this transaction and returns its value. */
export async function lockUserVersion(tx: Tx, userId: UserId): Promise<number> {
  await tx.insert(userVersions).values({ userId }).onConflictDoNothing({ target: userVersions.userId });
  const [row] = await tx
    .select({ version: userVersions.version })
    .from(userVersions)
    .where(eq(userVersions.userId, userId))
    .for('update');
  if (row === undefined) throw new Error('user_versions row vanished inside its own transaction');
  return row.version;
}

/** Takes the next version for one write by the server (not a push): locks, counts up, stores. */
export async function nextUserVersion(tx: Tx, userId: UserId): Promise<number> {
  const version = (await lockUserVersion(tx, userId)) + 1;
  await tx.update(userVersions).set({ version }).where(eq(userVersions.userId, userId));
  return version;
}
