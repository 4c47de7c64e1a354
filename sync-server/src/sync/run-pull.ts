/**
 * One pull page, read from one REPEATABLE READ snapshot under the user's RLS:
 *
 * - `V` = the user's version in that snapshot. Versions are handed out under a row lock in commit order, so every
 *   row stamped `<= V` is visible in the same snapshot and nothing `<= V` can appear later: the next page (or the
 *   next pull) may safely continue from any cursor `<= V`.
 * - The page holds the changes with `cursor < version <= upTo`, ordered by version. `upTo` is the version before
 *   the `limit + 1`-th change, so a version is never split across pages; one version with more than `limit` rows
 *   is sent whole.
 * - Cursor 0 means "I have nothing": it includes rows never changed through sync (version 0, e.g. the default
 *   settings) and leaves tombstones out.
 * - Reset: a cursor below the purge horizon (`purged_through`: a deletion it may have missed is gone; cursor 0
 *   counts when the pull names `skip`, as the device then holds rows it created) or above `V`
 *   (the server's data was restored from a backup) starts again from 0 with `reset: true`. That first page reaches
 *   at least to the horizon, so the device's next cursor is past it and the reset is not repeated.
 */
import { eq } from 'drizzle-orm';
import { userVersions } from '@vitalwatch/schema/db/tables';
import type { PullRequest } from '@vitalwatch/schema/protocol/pull-request';
import type { Change } from '@vitalwatch/schema/protocol/pull-response';
import type { Db } from '../db/database.ts';
import { withUser, type RequestClaims } from '../db/with-user.ts';
import { SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import { firstVersions, PULLED_TABLES, type VersionRange } from './pulled-tables.ts';

export const DEFAULT_PULL_LIMIT = 1000;

export type PullPage = { reset: boolean; changes: Change[]; cursor: number; complete: boolean };

/** `withUser` inside a read-only REPEATABLE READ transaction: every query of `work` sees one snapshot. */
async function withUserSnapshot<T>(db: Db, claims: RequestClaims, work: Parameters<typeof withUser<T>>[2]) {
  // withUser on a transaction opens a savepoint; its transaction-local settings last until the outer commit.
  return db.transaction((tx) => withUser(tx, claims, work), {
    isolationLevel: 'repeatable read',
    accessMode: 'read only',
  });
}

/** Test seam: runs inside the pull's transaction, after the user's version was read (tests commit other work there). */
export type PullHooks = { afterVersionRead?: () => Promise<void> };

export async function runPull(
  db: Db,
  claims: RequestClaims,
  request: PullRequest,
  hooks: PullHooks = {},
): Promise<PullPage> {
  const userId = claims.sub;
  return withUserSnapshot(db, claims, async (tx) => {
    const [state] = await tx
      .select({ version: userVersions.version, purgedThrough: userVersions.purgedThrough })
      .from(userVersions)
      .where(eq(userVersions.userId, userId));
    const latest = state?.version ?? 0;
    const horizon = state?.purgedThrough ?? 0;
    await hooks.afterVersionRead?.();
    // A device naming rows to skip holds rows it created, so even from cursor 0 it needs the tombstones of those
    // deleted since (PL11), and gets a reset when some of them are purged.
    const holdsRows = request.cursor > 0 || (request.skip ?? []).length > 0;
    const reset = request.cursor > latest || (holdsRows && request.cursor < horizon);
    const fromNothing = reset || request.cursor === 0;
    const limit = request.limit ?? DEFAULT_PULL_LIMIT;
    // A reset sends every row (the device rebuilds from it).
    const skip = reset ? [] : (request.skip ?? []);
    const range: VersionRange = {
      userId,
      after: fromNothing ? -1 : request.cursor,
      upTo: latest,
      tombstones: !fromNothing || skip.length > 0,
      skip,
    };

    let upTo = latest;
    const versions = await firstVersions(tx, range, limit + 1);
    const boundary = versions[limit];
    if (boundary !== undefined) upTo = versions[0] === boundary ? boundary : boundary - 1;
    // Cursor 0 means "from nothing", so a page may not end at 0 while more follows: take the next version along.
    if (upTo === 0 && latest > 0) upTo = (await firstVersions(tx, { ...range, after: 0 }, 1))[0] ?? latest;
    if (reset) upTo = Math.max(upTo, horizon);

    const page = { ...range, upTo };
    const changes: Change[] = [];
    // One table after another: PGlite runs one query at a time anyway, and a pooled connection is one connection.
    // A table newer than the client's protocol is left out: its app has no store for it (RG9).
    for (const table of PULLED_TABLES) {
      if (SYNCED_TABLE_REGISTRY[table.name].pulled.id > request.protocolVersion) continue;
      changes.push(...(await table.read(tx, page, request.protocolVersion)));
    }
    changes.sort((a, b) => a.version - b.version);
    return { reset, changes, cursor: upTo, complete: upTo >= latest };
  });
}
