/**
 * Rows with unacknowledged local changes: how pulls, acknowledgements and rejections meet the user's pending
 * edits without overwriting them or leaving a refused edit on screen.
 *
 * Invariant: a row named by any outbox entry's `refs` has a base (the server's last state of it, or null). The
 * local row is then "base + pending mutations, re-applied in outbox order". Consequences:
 * - a pulled change to such a row updates its base, and the row is rebuilt: the user's edit stays on top;
 * - a rejected mutation is undone by rebuilding from the base without it;
 * - an acknowledged (ok/dup) mutation leaves the row as it is but marks the base `unconfirmed` (and keeps the
 *   mutation in `acked`) until a complete pull: if the pull brings the row, the server's copy replaces it; if not,
 *   the server did not change the row (e.g. the edit lost last-writer-wins), and the base is restored. A rebuild
 *   meanwhile (a later edit rejected) re-applies `acked` before the pending mutations, so the accepted edit stays;
 * - an `ok` that says the mutation created its row as sent (`created`, SPEC PU12) is that row arriving from the
 *   server: the mutation applied to nothing, with the server's version and time, becomes the base at once.
 * All functions run inside the caller's transaction, whose scope must cover the tables they touch.
 */
import type { SyncedTable } from '@vitalwatch/schema/protocol/pull-response';
import { bindMutation, type RowStore } from './apply-mutation.ts';
import {
  rowRef,
  splitRowRef,
  type LocalDb,
  type RowByTable,
  type OutboxEntry,
  type RowRef,
  type SyncedRow,
} from './local-db.ts';

export function dexieRowStore(db: LocalDb): RowStore {
  return {
    get: (table, id) => db.rows(table).get(id),
    put: async (table, row) => {
      await db.rows(table).put(row);
    },
    delete: (table, id) => db.rows(table).delete(id),
  };
}

/** Every row named by a pending outbox entry. */
export async function pendingRefs(db: LocalDb): Promise<Set<string>> {
  const keys = await db.outbox.orderBy('refs').uniqueKeys();
  return new Set(keys.filter((k): k is string => typeof k === 'string'));
}

async function isPending(db: LocalDb, ref: string): Promise<boolean> {
  return (await db.outbox.where('refs').equals(ref).first()) !== undefined;
}

/** Before a mutator's first change to a row: keep the server's state of it. */
export async function saveBases(db: LocalDb, refs: readonly RowRef[]): Promise<void> {
  for (const ref of refs) {
    if ((await db.bases.get(ref)) !== undefined) continue;
    const parts = splitRowRef(ref);
    if (parts === null) continue;
    const row: SyncedRow | undefined = await db.rows(parts.table).get(parts.id);
    await db.bases.put({ ref, row: row ?? null, unconfirmed: false });
  }
}

async function writeRow(db: LocalDb, ref: string, row: SyncedRow | null): Promise<void> {
  const parts = splitRowRef(ref);
  if (parts === null) return;
  const table = db.table<SyncedRow, string>(parts.table);
  if (row === null) await table.delete(parts.id);
  else await table.put(row);
}

/**
 * A change the server sent for one row. Returns true when the row has pending mutations: its base was updated
 * and the caller must `rebuildRows` it after the page.
 */
export async function applyServerChange(
  db: LocalDb,
  ref: RowRef,
  row: SyncedRow | null,
  pending: ReadonlySet<string>,
): Promise<boolean> {
  if (pending.has(ref)) {
    await db.bases.put({ ref, row, unconfirmed: false });
    return true;
  }
  await writeRow(db, ref, row);
  await db.bases.delete(ref);
  return false;
}

/**
 * Resets `refs` (and every row connected to them through a pending mutation) to their bases, then re-applies
 * the pending mutations that touch them, oldest first.
 */
export async function rebuildRows(
  db: LocalDb,
  refs: Iterable<string>,
  userId: string | undefined,
): Promise<void> {
  const rows = new Set(refs);
  const entries = new Map<number, OutboxEntry>();
  let frontier = [...rows];
  while (frontier.length > 0) {
    const found = await db.outbox.where('refs').anyOf(frontier).toArray();
    frontier = [];
    for (const entry of found) {
      if (entries.has(entry.key)) continue;
      entries.set(entry.key, entry);
      for (const ref of entry.refs) {
        if (!rows.has(ref)) {
          rows.add(ref);
          frontier.push(ref);
        }
      }
    }
  }
  const acked = new Map<number, OutboxEntry>();
  for (const ref of rows) {
    const base = await db.bases.get(ref);
    if (base === undefined) continue;
    await writeRow(db, ref, base.row);
    for (const entry of base.acked ?? []) acked.set(entry.key, entry);
  }
  const store = dexieRowStore(db);
  // Accepted mutations first (they were sent before every pending one), each once, in outbox order.
  for (const entry of [...acked.values()].sort((a, b) => a.key - b.key)) await reapply(store, entry, userId);
  for (const entry of [...entries.values()].sort((a, b) => a.key - b.key)) {
    await reapply(store, entry, userId);
  }
}

async function reapply(store: RowStore, entry: OutboxEntry, userId: string | undefined): Promise<void> {
  // An entry this code cannot read (written by a newer version) leaves its rows as the server has them.
  await bindMutation(entry.name, entry.args)?.apply(store, { hlc: entry.hlc, at: entry.createdAt, userId });
}

export type AckStatus = 'ok' | 'dup' | 'rejected';

/** The server's word that a mutation created its row as sent: the row's version and `updatedAt`. */
export interface Created {
  version: number;
  at: number;
}

export interface Ack {
  entry: OutboxEntry;
  status: AckStatus;
  /** The row the server created exactly as sent (`createdRow`). */
  created?: SyncedRow;
}

/**
 * The row a creating mutation makes from nothing, stamped as the server stamped it; null if it makes none (or
 * touches more than one row). Computed before the transaction that settles the acknowledgement: a long run of
 * awaits that are not IndexedDB requests lets the transaction commit under it.
 */
export async function createdRow(
  entry: OutboxEntry,
  created: Created,
  userId: string | undefined,
): Promise<SyncedRow | null> {
  if (entry.refs.length !== 1) return null;
  const rows = new Map<string, SyncedRow>();
  const scratch: RowStore = {
    get: async <T extends SyncedTable>(table: T, id: string) =>
      rows.get(rowRef(table, id)) as RowByTable[T] | undefined,
    put: async (table, row) => {
      rows.set(rowRef(table, row.id), row);
    },
    delete: async (table, id) => {
      rows.delete(rowRef(table, id));
    },
  };
  const [ref] = entry.refs;
  await bindMutation(entry.name, entry.args)?.apply(scratch, { hlc: entry.hlc, at: entry.createdAt, userId });
  const row = ref === undefined ? undefined : rows.get(ref);
  if (row === undefined) return null;
  return {
    ...row,
    version: created.version,
    ...('updatedAt' in row && { updatedAt: created.at }),
  };
}

/** After acknowledged entries were deleted from the outbox: confirm or undo their local effects. */
export async function settleAcks(
  db: LocalDb,
  acks: readonly Ack[],
  userId: string | undefined,
): Promise<void> {
  type Seen = { applied: OutboxEntry[]; rejected: boolean; created: SyncedRow | null };
  const byRef = new Map<RowRef, Seen>();
  for (const { entry, status, created } of acks) {
    const row = created ?? null;
    for (const ref of entry.refs) {
      const seen = byRef.get(ref) ?? { applied: [], rejected: false, created: null };
      if (status === 'rejected') seen.rejected = true;
      else if (row !== null) {
        // The server had no such row before: what was acknowledged on it earlier changed nothing there.
        seen.created = row;
        seen.applied = [];
      } else seen.applied.push(entry);
      byRef.set(ref, seen);
    }
  }
  const rebuild: RowRef[] = [];
  for (const [ref, seen] of byRef) {
    let base = await db.bases.get(ref);
    if (base === undefined) continue;
    if (seen.created !== null) {
      base = { ref, row: seen.created, unconfirmed: false, acked: [] };
      await db.bases.put(base);
      if (seen.applied.length === 0 && !seen.rejected) {
        if (await isPending(db, ref)) rebuild.push(ref);
        else {
          await writeRow(db, ref, base.row);
          await db.bases.delete(ref);
        }
        continue;
      }
    }
    const unconfirmed = base.unconfirmed || seen.applied.length > 0;
    const acked = [...(base.acked ?? []), ...seen.applied];
    if (seen.applied.length > 0) await db.bases.put({ ...base, unconfirmed, acked });
    if (!seen.rejected) {
      if (seen.created !== null && seen.applied.length > 0) rebuild.push(ref);
      continue;
    }
    // With accepted mutations on the row, undoing the rejected one means rebuilding: base, accepted, pending.
    if (acked.length > 0 || (await isPending(db, ref))) rebuild.push(ref);
    else {
      await writeRow(db, ref, base.row);
      if (!unconfirmed) await db.bases.delete(ref);
    }
  }
  if (rebuild.length > 0) await rebuildRows(db, rebuild, userId);
}

/**
 * After a complete pull (everything up to a snapshot taken after every acknowledgement so far): a row with no
 * pending mutations that the pull did not bring is as its base says; a pending row is rebuilt from its base.
 */
export async function settleAfterPull(db: LocalDb, userId: string | undefined): Promise<void> {
  const rebuild: RowRef[] = [];
  for (const base of await db.bases.toArray()) {
    if (!(await isPending(db, base.ref))) {
      await writeRow(db, base.ref, base.row);
      await db.bases.delete(base.ref);
    } else if (base.unconfirmed) {
      await db.bases.put({ ref: base.ref, row: base.row, unconfirmed: false });
      rebuild.push(base.ref);
    }
  }
  if (rebuild.length > 0) await rebuildRows(db, rebuild, userId);
}

/** The refs of every local row and every base of the given tables (a reset sweeps those the server did not send). */
export async function localRefs(db: LocalDb, tables: readonly SyncedTable[]): Promise<RowRef[]> {
  const refs: RowRef[] = [];
  for (const table of tables) {
    for (const id of await db.table<SyncedRow, string>(table).toCollection().primaryKeys()) {
      refs.push(`${table}/${id}`);
    }
  }
  for (const ref of await db.bases.toCollection().primaryKeys()) {
    if (splitRowRef(ref) !== null) refs.push(ref as RowRef);
  }
  return refs;
}
