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
 *
 * An SOS request crosses the event loop many times before its handler knows its lane (the token check, reading
 * and inflating its body, parsing it), and on PGlite every bulk step is one synchronous block of the event loop
 * (its statements settle as microtasks): measured, a small SOS request spent a median 150–220 ms between its token
 * check and its handler while bulk steps ran between its turns (bench/README.md). So a push request that may be an
 * SOS (`mayBeCritical`: the sync route calls it for a small body, before authenticating) holds bulk work back
 * from its very first hook until its lane is known, and the bulk lane's CPU work outside the database (its
 * checks, the parse of a big body) waits for `bulkTurn`, which lets critical requests in flight finish first.
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
  /**
   * Counts a request that may be critical (its lane is not known yet) as critical until the returned `release` is
   * called (idempotent), or at the latest after `MAY_BE_CRITICAL_MS`, so a client that never finishes its body
   * cannot hold bulk work back for longer.
   */
  mayBeCritical(): () => void;
  /**
   * The bulk lane's next turn of the event loop, for its CPU work outside the database: after the next
   * `setImmediate`, and once no critical request (or one that may be) is in flight, on either database: that
   * work runs on the event loop every request shares.
   */
  bulkTurn(): Promise<void>;
}

/** The longest one request that may be an SOS holds bulk work back before its lane is known. */
export const MAY_BE_CRITICAL_MS = 2_000;

export function createDatabaseGate(kind: DbKind): DatabaseGate {
  const exclusive = kind === 'pglite';
  const waiting: Record<Lane, Array<() => void>> = { critical: [], user: [], bulk: [] };
  let running = 0;
  let bulkRunning = 0;
  let criticalRequests = 0;
  /** `bulkTurn`s waiting for the critical requests in flight to end. */
  let bulkTurns: Array<() => void> = [];

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

  function criticalEnded(): void {
    criticalRequests -= 1;
    if (criticalRequests === 0) {
      const waiters = bulkTurns;
      bulkTurns = [];
      for (const resume of waiters) resume();
    }
    dispatch();
  }

  return {
    async whileCritical(work) {
      criticalRequests += 1;
      try {
        return await work();
      } finally {
        criticalEnded();
      }
    },
    mayBeCritical() {
      criticalRequests += 1;
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        clearTimeout(timer);
        criticalEnded();
      };
      const timer = setTimeout(release, MAY_BE_CRITICAL_MS);
      timer.unref();
      return release;
    },
    async bulkTurn() {
      await nextTurn();
      while (criticalRequests > 0) await new Promise<void>((resume) => bulkTurns.push(resume));
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
