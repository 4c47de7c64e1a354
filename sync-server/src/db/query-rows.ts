/**
 * Raw SQL results differ by driver (node-postgres: `rowCount`; PGlite: `affectedRows`) and drizzle types them
 * loosely; these read them the same way on both.
 */
import type { SQL } from 'drizzle-orm';
import type { Db, Tx } from './database.ts';

function driverResult(result: unknown): { rows: unknown[]; rowCount?: unknown; affectedRows?: unknown } {
  if (typeof result === 'object' && result !== null && 'rows' in result && Array.isArray(result.rows)) {
    return result as { rows: unknown[] };
  }
  throw new Error('unexpected database driver result');
}

/** Rows of a raw query; `T` is the caller's claim about the SELECT list it wrote. */
export async function queryRows<T>(db: Db | Tx, query: SQL): Promise<T[]> {
  return driverResult(await db.execute(query)).rows as T[];
}

/** How many rows a raw INSERT, UPDATE or DELETE changed. */
export async function executeCount(db: Db | Tx, query: SQL): Promise<number> {
  const result = driverResult(await db.execute(query));
  const count = result.rowCount ?? result.affectedRows;
  if (typeof count !== 'number') throw new Error('database driver reported no row count');
  return count;
}
