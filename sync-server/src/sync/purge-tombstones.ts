/**
 * The tombstone horizon. A deleted row stays as a tombstone (pull sends `del`) for TOMBSTONE_HORIZON_DAYS; after
 * that a job may purge it. Purging records, per user, the highest purged version in `user_versions.purged_through`:
 * a device whose cursor is below it might have missed a deletion, so its next pull is a reset (run-pull.ts).
 *
 * Server-only: runs as the connection's role across all users, outside `withUser`, by design (like alert jobs).
 */
import { and, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { alertLogs, emergencyContacts, fieldClocks, userVersions } from '@vitalwatch/schema/db/tables';
import { SYNCED_TABLES } from '@vitalwatch/schema/protocol/pull-response';
import { SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import type { Db } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';

export const TOMBSTONE_HORIZON_DAYS = 90;

/**
 * The synced tables whose rows can be deleted, in the registry's order (`deletable`: settings never are; incident
 * events are a log), RG5.
 */
export const TOMBSTONED_TABLES = SYNCED_TABLES.filter((table) => SYNCED_TABLE_REGISTRY[table].deletable);

/** Deletes tombstones older than the horizon; returns how many. */
export async function purgeTombstones(
  db: Db,
  now: Date,
  horizonDays: number = TOMBSTONE_HORIZON_DAYS,
): Promise<number> {
  const cutoff = new Date(now.getTime() - horizonDays * 86_400_000);
  return db.transaction(async (tx) => {
    const purgedThrough = new Map<UserId, number>();
    let purged = 0;
    // A purged contact's live ledger rows lose their contact (the foreign key sets it null). Stamp them with a new
    // version, so a device that follows its cursor learns what a fresh pull shows (PL1; fuzz seed 21).
    const purgedContacts = await tx
      .select({ id: emergencyContacts.id, userId: emergencyContacts.userId })
      .from(emergencyContacts)
      .where(lt(emergencyContacts.deletedAt, cutoff));
    const contactsByUser = new Map<UserId, string[]>();
    for (const { id, userId } of purgedContacts) {
      contactsByUser.set(userId as UserId, [...(contactsByUser.get(userId as UserId) ?? []), id]);
    }
    for (const [userId, contactIds] of contactsByUser) {
      const ledger = and(
        eq(alertLogs.userId, userId),
        inArray(alertLogs.contactId, contactIds),
        isNull(alertLogs.deletedAt),
      );
      const [affected] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(alertLogs)
        .where(ledger);
      if ((affected?.n ?? 0) === 0) continue;
      const [bumped] = await tx
        .update(userVersions)
        .set({ version: sql`${userVersions.version} + 1` })
        .where(eq(userVersions.userId, userId))
        .returning({ version: userVersions.version });
      if (bumped === undefined) continue;
      await tx.update(alertLogs).set({ contactId: null, version: bumped.version }).where(ledger);
    }
    for (const table of TOMBSTONED_TABLES) {
      const rows = (
        await queryRows<{ id: string; user_id: string; version: number | string }>(
          tx,
          sql`delete from ${sql.identifier(table)} where deleted_at < ${cutoff.toISOString()}::timestamptz
              returning id, user_id, version`,
        )
      ).map((r) => ({ id: r.id, userId: r.user_id, version: Number(r.version) }));
      purged += rows.length;
      // Field-by-field tables keep a clock per field (field_clocks); a purged row's clocks go with it.
      if (rows.length > 0 && SYNCED_TABLE_REGISTRY[table].conflict === 'field-lww') {
        await tx.delete(fieldClocks).where(
          and(
            eq(fieldClocks.tableName, table),
            inArray(
              fieldClocks.rowId,
              rows.map((r) => r.id),
            ),
          ),
        );
      }
      for (const row of rows) {
        const userId = row.userId as UserId;
        purgedThrough.set(userId, Math.max(purgedThrough.get(userId) ?? 0, row.version));
      }
    }
    for (const [userId, version] of purgedThrough) {
      await tx
        .insert(userVersions)
        .values({ userId, version, purgedThrough: version })
        .onConflictDoUpdate({
          target: userVersions.userId,
          set: { purgedThrough: sql`greatest(${userVersions.purgedThrough}, ${version})` },
        });
    }
    return purged;
  });
}
