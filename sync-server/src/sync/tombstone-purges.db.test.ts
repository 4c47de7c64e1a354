import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import { moodEntries } from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { openDatabase } from '../db/database.ts';
import { TOMBSTONE_HORIZON_DAYS } from './purge-tombstones.ts';
import { FIRST_PURGE_DELAY_MS, startTombstonePurges, type Timers } from './tombstone-purges.ts';
import {
  mutation,
  push,
  pushBody,
  signUp,
  startSyncServer,
  type SyncServer,
} from '../../test/sync-test-kit.ts';

/** Timers that fire only when the test says so. */
function manualTimers() {
  let next = 0;
  const pending = new Map<number, { callback: () => void; ms: number }>();
  const timers: Timers = {
    setTimeout(callback, ms) {
      next += 1;
      pending.set(next, { callback, ms });
      return next;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    delays: () => [...pending.values()].map((t) => t.ms),
    /** Fires the one pending timer. */
    fire() {
      const [entry] = pending.entries();
      if (pending.size !== 1 || entry === undefined) throw new Error(`${pending.size} timers pending`);
      pending.delete(entry[0]);
      entry[1].callback();
    },
  };
}

function recordingLog() {
  const lines: string[] = [];
  let settled: () => void = () => {};
  return {
    lines,
    /** Resolves at the next log line. */
    next: () => new Promise<void>((resolve) => (settled = resolve)),
    log: {
      info(message: string) {
        lines.push(message);
        settled();
      },
      error(_error: unknown, message: string) {
        lines.push(`error: ${message}`);
        settled();
      },
    },
  };
}

const HOUR = 3_600_000;

describeOnEachDatabase('tombstone purges while the server runs', (database) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  it('[PL9] purges a minute after start and then every interval, and stop() cancels the next purge', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const [old, recent] = [newId(), newId()];
    const t = server.clock.ms;
    await push(
      server.app,
      user,
      pushBody(newId(), 'user', [
        mutation(1, 'mood.upsert@1', { id: old, recordedAt: t, fields: { mood: 2 } }),
        mutation(2, 'mood.upsert@1', { id: recent, recordedAt: t, fields: { mood: 3 } }),
        mutation(3, 'mood.delete@1', { id: old }),
        mutation(4, 'mood.delete@1', { id: recent }),
      ]),
    );
    await db
      .update(moodEntries)
      .set({ deletedAt: new Date(Date.now() - (TOMBSTONE_HORIZON_DAYS + 1) * 86_400_000) })
      .where(eq(moodEntries.id, old));

    const clock = manualTimers();
    const log = recordingLog();
    const purges = startTombstonePurges({ db, intervalMs: 6 * HOUR, log: log.log, timers: clock.timers });
    expect(clock.delays()).toEqual([FIRST_PURGE_DELAY_MS]);
    expect(await db.select().from(moodEntries).where(eq(moodEntries.id, old))).toHaveLength(1);

    const logged = log.next();
    clock.fire();
    await logged;
    expect(log.lines.at(-1)).toMatch(/removed \d+ tombstones/);
    expect(await db.select().from(moodEntries).where(eq(moodEntries.id, old))).toEqual([]);
    // A tombstone inside the horizon stays until it is old enough.
    expect(await db.select().from(moodEntries).where(eq(moodEntries.id, recent))).toHaveLength(1);
    expect(clock.delays()).toEqual([6 * HOUR]);

    await purges.stop();
    expect(clock.delays()).toEqual([]);
  });

  it('[PL9] logs a failed purge and still runs the next; stop() waits for a purge under way', async () => {
    const broken = await openDatabase({ kind: 'pglite', dataDir: null });
    await broken.close(); // every query now fails
    const clock = manualTimers();
    const log = recordingLog();
    const failing = startTombstonePurges({
      db: broken.db,
      intervalMs: HOUR,
      log: log.log,
      timers: clock.timers,
    });
    const logged = log.next();
    clock.fire();
    await logged;
    expect(log.lines).toEqual(['error: tombstone purge failed; the next one runs on schedule']);
    expect(clock.delays()).toEqual([HOUR]);
    await failing.stop();

    // A purge under way when the server closes: stop() resolves after it, and nothing is scheduled after it.
    const { db } = database();
    const second = manualTimers();
    const purges = startTombstonePurges({
      db,
      intervalMs: HOUR,
      log: recordingLog().log,
      timers: second.timers,
    });
    second.fire();
    let stopped = false;
    const stopping = purges.stop().then(() => (stopped = true));
    expect(stopped).toBe(false);
    await stopping;
    expect(second.delays()).toEqual([]);
  });
});
