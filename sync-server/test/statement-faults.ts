/**
 * A drizzle logger that fails statements on demand: the fault a server restart makes in the middle of a
 * transaction. Give it to a test database (`describeOnEachDatabase(…, { logger })`); the statement it throws on
 * fails before it reaches the database, with the SQLSTATE of a connection the server dropped (57P01), and the
 * transaction around it rolls back.
 */
import type { Logger } from 'drizzle-orm';

export interface StatementFaults extends Logger {
  /** From the `count`-th insert, update or delete on, every write fails until `disarm`. */
  failFromWrite(count: number): void;
  /** Stops failing; true when a statement failed since `failFromWrite`. */
  disarm(): boolean;
}

export function createStatementFaults(): StatementFaults {
  let failFrom: number | null = null;
  let writes = 0;
  let fired = false;
  return {
    logQuery(query: string) {
      if (failFrom === null || !/^\s*(insert|update|delete)\b/i.test(query)) return;
      writes += 1;
      if (writes < failFrom) return;
      fired = true;
      throw Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      });
    },
    failFromWrite(count) {
      failFrom = count;
      writes = 0;
      fired = false;
    },
    disarm() {
      failFrom = null;
      return fired;
    },
  };
}
