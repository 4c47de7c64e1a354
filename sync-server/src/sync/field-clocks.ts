/**
 * Field-level last-writer-wins (moods, contacts, settings). Each field remembers the HLC of the write that set it
 * (`field_clocks`); an incoming field wins only with a strictly greater HLC, so replays and ties change nothing and
 * every device converges whatever order the writes arrive in. A field never written through sync (a default, or a
 * row created some other way) has no clock and loses to any write. (Not the row's `hlc`: that is the newest write
 * to *any* field, and would make an edit of one field lose to a later edit of another.)
 */
import { and, eq } from 'drizzle-orm';
import { fieldClocks } from '@vitalwatch/schema/db/tables';
import type { FieldClockTable } from '@vitalwatch/schema/db/sync';
import type { MutationContext } from './mutation-context.ts';

export type Clocks = Record<string, string>;

export async function loadClocks(
  ctx: MutationContext,
  table: FieldClockTable,
  rowId: string,
): Promise<Clocks> {
  const [row] = await ctx.tx
    .select({ hlcs: fieldClocks.hlcs })
    .from(fieldClocks)
    .where(
      and(eq(fieldClocks.userId, ctx.userId), eq(fieldClocks.tableName, table), eq(fieldClocks.rowId, rowId)),
    );
  return row?.hlcs ?? {};
}

export async function saveClocks(
  ctx: MutationContext,
  table: FieldClockTable,
  rowId: string,
  hlcs: Clocks,
): Promise<void> {
  await ctx.tx
    .insert(fieldClocks)
    .values({ userId: ctx.userId, tableName: table, rowId, hlcs })
    .onConflictDoUpdate({
      target: [fieldClocks.userId, fieldClocks.tableName, fieldClocks.rowId],
      set: { hlcs },
    });
}

/** The proposed fields that beat the value on record, by HLC. */
export function winningFields<F extends string>(
  proposed: Partial<Record<F, unknown>>,
  clocks: Clocks,
  hlc: string,
): F[] {
  return (Object.keys(proposed) as F[]).filter(
    (field) => proposed[field] !== undefined && hlc > (clocks[field] ?? ''),
  );
}

/** The clocks after `winners` were written at `hlc`. */
export function advanceClocks(clocks: Clocks, winners: readonly string[], hlc: string): Clocks {
  const next = { ...clocks };
  for (const field of winners) next[field] = hlc;
  return next;
}

/** Value equality for field values (scalars, arrays of scalars, dates as their time). */
export function sameValue(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => (v instanceof Date ? v.getTime() : v);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}
