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
 * Bulk work takes turns of the event loop (SE49): each bulk step and each piece of the bulk lane's CPU work (a
 * batch's checks, its sample ids) starts only when the gate gives it a turn, one piece per turn of the event loop
 * (`setImmediate`) across every upload in progress. On PGlite a step is one synchronous block of the event loop
 * (its statements settle as microtasks), so without the turns two uploads' steps and CPU work ran back to back
 * (the step that ended handed the database straight to the next; immediates queued together ran together) and a
 * request that arrived meanwhile was read only after all of them: measured, an SOS waited for 3–5 blocks. With
 * them it waits for the block in progress, and the next turn reads it. Work outside the gate (token checks,
 * pulls) goes straight to the database; on PGlite it queues behind the gated step in progress, which is short.
 *
 * An SOS request crosses the event loop many times before its handler knows its lane (the token check, reading
 * and inflating its body, parsing it), and on PGlite every bulk step is one synchronous block of the event loop
 * (its statements settle as microtasks): measured, a small SOS request spent a median 150–220 ms between its token
 * check and its handler while bulk steps ran between its turns (bench/README.md). So a push request that may be an
 * SOS (`mayBeCritical`: the sync route calls it for a small body, before authenticating) holds bulk work back
 * from its very first hook until its lane is known, and the bulk lane's CPU work outside the database (its
 * checks, the parse of a big body) waits for `bulkTurn`, which lets critical requests in flight finish first.
 */
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
   * The bulk lane's turn of the event loop for one piece of its CPU work outside the database (SE49): at the
   * earliest on the next turn, at most one piece (or bulk step) per turn across every upload, and once no critical
   * request (or one that may be) is in flight, on either database: that work runs on the event loop every request
   * shares. The piece must run synchronously right after the turn is given.
   */
  bulkTurn(): Promise<void>;
}

/** Calls `callback` on a later turn of the event loop (`setImmediate`; a test steps the turns itself). */
export type NextTurn = (callback: () => void) => void;

/** The longest one request that may be an SOS holds bulk work back before its lane is known. */
export const MAY_BE_CRITICAL_MS = 2_000;

export function createDatabaseGate(
  kind: DbKind,
  nextTurn: NextTurn = (callback) => void setImmediate(callback),
): DatabaseGate {
  const exclusive = kind === 'pglite';
  const waiting: Record<Lane, Array<() => void>> = { critical: [], user: [], bulk: [] };
  let running = 0;
  let bulkRunning = 0;
  let criticalRequests = 0;
  /** Bulk work waiting for its turn, first come first served; `afterCritical` work also waits for no SOS. */
  const turns: Array<{ resume: () => void; afterCritical: boolean }> = [];
  let turnScheduled = false;

  function scheduleTurn(): void {
    if (turnScheduled || turns.length === 0) return;
    turnScheduled = true;
    nextTurn(giveTurn);
  }

  /** One turn: the first piece of bulk work that may go now resumes (and runs before the loop turns again). */
  function giveTurn(): void {
    turnScheduled = false;
    const index = turns.findIndex((turn) => !turn.afterCritical || criticalRequests === 0);
    if (index === -1) return; // the last critical request to end schedules the next turn
    turns.splice(index, 1)[0]!.resume();
    scheduleTurn();
  }

  function takeTurn(afterCritical: boolean): Promise<void> {
    return new Promise((resume) => {
      turns.push({ resume, afterCritical });
      scheduleTurn();
    });
  }

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
    // Bulk work goes on at the next turn, not in this one: the SOS's answer is written first.
    if (criticalRequests === 0) scheduleTurn();
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
    bulkTurn: () => takeTurn(true),
    async run(lane, work) {
      // On PGlite a step waits for no SOS at its turn as well; on Postgres only its start is paced.
      if (lane === 'bulk') await takeTurn(exclusive);
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
