/**
 * Purges tombstones past the horizon (`purge-tombstones.ts`, PL5) while the server runs (PL9): the first purge a
 * minute after start (or sooner, with a shorter interval), so a server restarted more often than the interval
 * still purges, then one every interval after the previous one ended, so purges never overlap. A failed purge
 * (the database briefly away, a deadlock with another instance's purge) is logged and the next one runs on time.
 * `stop()` cancels the next purge and waits for one under way, so the caller can close the database after it.
 */
import type { Db } from '../db/database.ts';
import { purgeTombstones } from './purge-tombstones.ts';

/** The timer functions the schedule uses; tests pass their own and fire them by hand. */
export type Timers = {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

export type PurgeLog = {
  info(message: string): void;
  error(error: unknown, message: string): void;
};

export type TombstonePurges = { stop(): Promise<void> };

export const FIRST_PURGE_DELAY_MS = 60_000;

const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export function startTombstonePurges(options: {
  db: Db;
  intervalMs: number;
  log: PurgeLog;
  now?: () => Date;
  timers?: Timers;
}): TombstonePurges {
  const { db, intervalMs, log, now = () => new Date(), timers = realTimers } = options;
  let timer: unknown = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  const schedule = (ms: number) => {
    timer = timers.setTimeout(() => {
      timer = null;
      running = purgeOnce();
    }, ms);
  };
  // The next purge is scheduled before this one is logged, so a log line means the schedule is set.
  async function purgeOnce(): Promise<void> {
    let purged: number | null = null;
    let failure: unknown = null;
    try {
      purged = await purgeTombstones(db, now());
    } catch (error) {
      failure = error;
    }
    running = null;
    if (!stopped) schedule(intervalMs);
    if (purged === null) log.error(failure, 'tombstone purge failed; the next one runs on schedule');
    else if (purged > 0) log.info(`tombstone purge: removed ${purged} tombstones past the horizon`);
  }

  schedule(Math.min(FIRST_PURGE_DELAY_MS, intervalMs));
  return {
    async stop() {
      stopped = true;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
