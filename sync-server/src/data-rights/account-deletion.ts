/**
 * Deleting an account (GDPR Art. 17; SPEC DR5–DR10), in two steps so that a crash anywhere loses nothing of the
 * promise:
 *
 * 1. `requestAccountDeletion` (one transaction): `users.deletion_requested_at` is set, every session is revoked
 *    and every sync token deleted. From its commit on, no token of the account works and no sign-in succeeds, and
 *    the mark is the durable job: it stays until step 2 has committed.
 * 2. `finishAccountDeletion`: the files go from both stores first (idempotent: a missing file is fine), then one
 *    transaction deletes every row of the user in every user-data table (user-data-tables.ts, children first,
 *    each count recorded), the user row last, and writes the audit entry (`account_deletions`: counts, times and
 *    hashes, no personal data) and the hashes of the alert link tokens (so they answer 410 Gone).
 *
 * A crash after step 1 leaves the mark: `finishPendingDeletions` runs when the server starts and every hour
 * (data-rights-routes.ts) and finishes every marked account. A crash inside step 2's transaction rolls it back;
 * files already deleted are not looked for again. Running either step twice changes nothing.
 */
import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import { newId } from '@vitalwatch/schema/ids';
import {
  accountDeletions,
  alertLinks,
  goneAlertLinks,
  syncTokens,
  userSessions,
  users,
} from '@vitalwatch/schema/db/tables';
import type { Db } from '../db/database.ts';
import { executeCount } from '../db/query-rows.ts';
import { sha256 } from '../auth/deleted-accounts.ts';
import type { SessionEnds } from '../auth/session-end-hub.ts';
import { deleteUserFiles, type FileStores } from './user-files.ts';
import { ownedBy, userDataTables } from './user-data-tables.ts';

export type DeletionDeps = { db: Db; stores: FileStores; now: () => Date; sessionEnds: SessionEnds };

/** Step 1: marks the account, ends its sessions and sync tokens. Returns false when there is no such user. */
export async function requestAccountDeletion(deps: DeletionDeps, userId: string): Promise<boolean> {
  const at = deps.now();
  const ended = await deps.db.transaction(async (tx) => {
    const marked = await tx
      .update(users)
      .set({
        deletionRequestedAt: sql`coalesce(${users.deletionRequestedAt}, ${at.toISOString()}::timestamptz)`,
      })
      .where(eq(users.id, userId))
      .returning({ id: users.id });
    if (marked.length === 0) return null;
    const revoked = await tx
      .update(userSessions)
      .set({ revokedAt: at, revokedReason: 'account_deleted' })
      .where(and(eq(userSessions.userId, userId), isNull(userSessions.revokedAt)))
      .returning({ id: userSessions.id });
    await tx.delete(syncTokens).where(eq(syncTokens.userId, userId));
    return revoked;
  });
  if (ended === null) return false;
  for (const { id } of ended) deps.sessionEnds.publish(id);
  return true;
}

export type DeletionReceipt = { rowsDeleted: Record<string, number>; filesDeleted: number };

/** Test seam: runs after the files are deleted and before the rows are (a crash there is the case to survive). */
export type DeletionHooks = { afterFiles?: () => Promise<void> };

/** Step 2: deletes the files and rows of a marked account. Null when it is not marked (never asked, or done). */
export async function finishAccountDeletion(
  deps: DeletionDeps,
  userId: string,
  hooks: DeletionHooks = {},
): Promise<DeletionReceipt | null> {
  const [marked] = await deps.db
    .select({ requestedAt: users.deletionRequestedAt })
    .from(users)
    .where(and(eq(users.id, userId), isNotNull(users.deletionRequestedAt)));
  if (marked?.requestedAt == null) return null;
  const filesDeleted = await deleteUserFiles(deps.db, deps.stores, userId);
  await hooks.afterFiles?.();
  return deps.db.transaction(async (tx) => {
    const [still] = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.id, userId), isNotNull(users.deletionRequestedAt)))
      .for('update');
    // Another instance finished it meanwhile.
    if (still === undefined) return null;
    const sessions = await tx
      .select({ id: userSessions.id })
      .from(userSessions)
      .where(eq(userSessions.userId, userId));
    const links = await tx
      .select({ token: alertLinks.token })
      .from(alertLinks)
      .where(eq(alertLinks.userId, userId));
    const rowsDeleted: Record<string, number> = {};
    for (const table of userDataTables()) {
      rowsDeleted[table.name] = await executeCount(
        tx,
        sql`delete from ${table.table} where ${ownedBy(table, userId)}`,
      );
    }
    const deletionId = newId();
    await tx.insert(accountDeletions).values({
      id: deletionId,
      subjectSha256: sha256(userId),
      sessionHashes: sessions.map(({ id }) => sha256(id).toString('hex')),
      requestedAt: marked.requestedAt ?? deps.now(),
      completedAt: deps.now(),
      rowsDeleted,
      filesDeleted,
    });
    if (links.length > 0) {
      await tx
        .insert(goneAlertLinks)
        .values(links.map(({ token }) => ({ tokenSha256: sha256(token), deletionId })))
        .onConflictDoNothing();
    }
    return { rowsDeleted, filesDeleted };
  });
}

/** The crash-recovery job: finishes every account whose deletion was asked for; returns how many. */
export async function finishPendingDeletions(deps: DeletionDeps): Promise<number> {
  const pending = await deps.db
    .select({ id: users.id })
    .from(users)
    .where(isNotNull(users.deletionRequestedAt));
  let finished = 0;
  for (const { id } of pending) if ((await finishAccountDeletion(deps, id)) !== null) finished += 1;
  return finished;
}
