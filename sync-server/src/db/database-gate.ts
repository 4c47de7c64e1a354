/**
 * Who gets the database next when pushes wait for it (issue #13 item 3): critical-lane work (an SOS) before
 * user-lane work before bulk work, first come first served within a lane.
 *
 * - PGlite has one backend and runs one statement at a time, synchronously, on the event loop: a transaction that
 *   has started blocks every other one. So the gate is exclusive there: one gated transaction at a time, and when
 *   it ends the most urgent waiter goes next. Bulk pushes are cut into short steps (`run-bulk-push.ts`), each its
 *   own gated transaction, so an SOS waits for at most the step in progress, never for another account's upload.
 * - Postgres runs transactions side by side, each on its own pool connection: critical and user work pass at once,
 *   bulk steps at most `BULK_SLOTS` at a time, so uploads can never hold every connection of the pool (10) and an
 *   SOS always finds one.
 *
 * Before a bulk step starts, the gate yields to the event loop (`setImmediate`): database work resolves in
 * microtasks, and without that yield a long upload would run step after step without the server ever reading the
 * request of an SOS that arrived meanwhile. Work outside the gate (token checks, pulls) goes straight to the
 * database; on PGlite it queues behind the gated step in progress, which is short.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LANES, type Lane } from '@vitalwatch/schema/protocol/lane';
import type { DbKind } from './database.ts';

/** Bulk steps that may hold Postgres connections at once (the pool has 10). */
export const BULK_SLOTS = 2;

export interface DatabaseGate {
  /** Runs `work` (one transaction) when its lane's turn comes. */
  run<T>(lane: Lane, work: () => Promise<T>): Promise<T>;
  /**
   * Runs `work` (a whole critical-lane request: token check, push) while no bulk step starts on PGlite: a request
   * takes several turns of the event loop, and without this each could wait behind another bulk step.
   */
  whileCritical<T>(work: () => Promise<T>): Promise<T>;
}

export function createDatabaseGate(kind: DbKind): DatabaseGate {
  const exclusive = kind === 'pglite';
  const waiting: Record<Lane, Array<() => void>> = { critical: [], user: [], bulk: [] };
  let running = 0;
  let bulkRunning = 0;
  let criticalRequests = 0;

  const mayStart = (lane: Lane) =>
    exclusive
      ? running === 0 && (lane !== 'bulk' || criticalRequests === 0)
      : lane !== 'bulk' || bulkRunning < BULK_SLOTS;

  function dispatch(): void {
    for (const lane of LANES) {
      const queue = waiting[lane];
      while (queue.length > 0 && mayStart(lane)) {
        running += 1;
        if (lane === 'bulk') bulkRunning += 1;
        queue.shift()?.();
      }
      // An exclusive gate hands the database to the most urgent lane waiting, and to nobody behind it.
      if (exclusive && queue.length > 0) return;
    }
  }

  return {
    async whileCritical(work) {
      criticalRequests += 1;
      try {
        return await work();
      } finally {
        criticalRequests -= 1;
        dispatch();
      }
    },
    async run(lane, work) {
      if (lane === 'bulk') await nextTurn();
      await new Promise<void>((resolve) => {
        waiting[lane].push(resolve);
        dispatch();
      });
      try {
        return await work();
      } finally {
        running -= 1;
        if (lane === 'bulk') bulkRunning -= 1;
        dispatch();
      }
    },
  };
}
