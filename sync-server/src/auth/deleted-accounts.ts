/**
 * Whether a token's account or session was deleted (SPEC DR7): its requests, sign-ins and refreshes are then
 * answered `401 account_deleted`, so a device still holding it says so and wipes what it holds, instead of asking
 * the person to sign in again. An account counts from the moment its deletion was asked for
 * (`users.deletion_requested_at`); once done, only SHA-256 hashes remain (`account_deletions`, data-rights.ts).
 */
import { createHash } from 'node:crypto';
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { accountDeletions, userSessions, users } from '@vitalwatch/schema/db/tables';
import type { Db } from '../db/database.ts';
import { HttpError } from '../http/http-error.ts';

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export const ACCOUNT_DELETED_MESSAGE =
  'This account was deleted, with everything it held on the server: this device erases its copy too.';

export function accountDeleted(): HttpError {
  return new HttpError(401, 'account_deleted', ACCOUNT_DELETED_MESSAGE);
}

/** Whether the account with this id was deleted (its tokens are then answered `account_deleted`). */
export async function isDeletedAccount(db: Db, userId: string): Promise<boolean> {
  const found = await db
    .select({ id: accountDeletions.id })
    .from(accountDeletions)
    .where(eq(accountDeletions.subjectSha256, sha256(userId)));
  if (found.length > 0) return true;
  const [pending] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, userId), isNotNull(users.deletionRequestedAt)));
  return pending !== undefined;
}

/** Whether the session (by id) belonged to a deleted account. */
export async function isDeletedAccountSession(db: Db, sessionId: string): Promise<boolean> {
  const hash = sha256(sessionId).toString('hex');
  const found = await db
    .select({ id: accountDeletions.id })
    .from(accountDeletions)
    .where(sql`${hash} = any(${accountDeletions.sessionHashes})`);
  if (found.length > 0) return true;
  const [pending] = await db
    .select({ id: userSessions.id })
    .from(userSessions)
    .innerJoin(users, eq(users.id, userSessions.userId))
    .where(and(eq(userSessions.id, sessionId), isNotNull(users.deletionRequestedAt)));
  return pending !== undefined;
}
