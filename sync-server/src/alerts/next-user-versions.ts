/**
 * `nextUserVersion` (db/user-version.ts) for a batch of users: one server write that touches many users' rows
 * (the dispatcher planning or recording a burst) takes each user's next version once, in one statement whatever
 * the number of users.
 *
 * The upsert creates a missing counter at 1 (as the single-user path does: 0, then the next) and otherwise counts
 * up, locking each counter until the transaction ends. It visits the users in id order, so two batches that share
 * users wait for each other instead of deadlocking; a push locks only its own user's counter.
 */
import { sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import type { Tx } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';

/** Locks these users' counters until the transaction ends, counts each up by one; user id → new version. */
export async function nextUserVersions(tx: Tx, userIds: Iterable<UserId>): Promise<Map<UserId, number>> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return new Map();
  const rows = await queryRows<{ user_id: UserId; version: number | string }>(
    tx,
    sql`insert into user_versions (user_id, version)
        select id, 1 from unnest(${sql.param(ids)}::uuid[]) as u(id) order by id
        on conflict (user_id) do update set version = user_versions.version + 1
        returning user_id, version`,
  );
  return new Map(rows.map((r) => [r.user_id, Number(r.version)]));
}
