/**
 * A drizzle logger that fails statements on demand: the fault a server restart makes in the middle of a
 * transaction. Give it to a test database (`describeOnEachDatabase(…, { logger })`); the statement it throws on
 * fails before it reaches the database, with the SQLSTATE of a connection the server dropped (57P01), and the
 * transaction around it rolls back. (Not seen here: what the driver does after a real drop, e.g. a ROLLBACK that
 * fails too; the Postgres tests terminate real backends for that.)
 */
import type { Logger } from 'drizzle-orm';

export interface StatementFaults extends Logger {
  /** From the `count`-th insert, update or delete on, every write fails until `disarm`. */
  failFromWrite(count: number): void;
  /** The next `times` statements whose SQL matches `pattern` fail, reads, BEGIN and COMMIT included. */
  failMatching(pattern: RegExp, times?: number): void;
  /** Stops failing; true when a statement failed since `failFromWrite` or `failMatching`. */
  disarm(): boolean;
}

function connectionDropped(): Error {
  return Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
}

export function createStatementFaults(): StatementFaults {
  let failFrom: number | null = null;
  let writes = 0;
  let fired = false;
  let matching: { pattern: RegExp; left: number } | null = null;
  return {
    logQuery(query: string) {
      if (matching !== null && matching.left > 0 && matching.pattern.test(query)) {
        matching.left -= 1;
        fired = true;
        throw connectionDropped();
      }
      if (failFrom === null || !/^\s*(insert|update|delete)\b/i.test(query)) return;
      writes += 1;
      if (writes < failFrom) return;
      fired = true;
      throw connectionDropped();
    },
    failMatching(pattern, times = 1) {
      matching = { pattern, left: times };
      fired = false;
    },
    failFromWrite(count) {
      failFrom = count;
      writes = 0;
      fired = false;
    },
    disarm() {
      failFrom = null;
      matching = null;
      return fired;
    },
  };
}
