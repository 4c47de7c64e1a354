import { expect, it } from 'vitest';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import { BULK_SLOTS, createDatabaseGate } from './database-gate.ts';

/** A job that runs until the test ends it; `started` tells when the gate let it in. */
function job() {
  let end!: () => void;
  const done = new Promise<void>((resolve) => (end = resolve));
  const state = { started: false };
  return { state, end, work: () => ((state.started = true), done) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

it('[SE24] PGlite: one job at a time, and when it ends an SOS waiting goes first, then user work, then bulk steps', async () => {
  const gate = createDatabaseGate('pglite');
  const order: string[] = [];
  const running = job();
  const first = gate.run('bulk', running.work);
  await settle();
  expect(running.state.started).toBe(true);
  const queued = (['bulk', 'user', 'critical', 'bulk', 'critical'] as Lane[]).map((lane, i) =>
    gate.run(lane, async () => {
      order.push(`${lane}${i}`);
    }),
  );
  await settle();
  expect(order).toEqual([]); // nothing overtakes the job that holds the database
  running.end();
  await Promise.all([first, ...queued]);
  expect(order).toEqual(['critical2', 'critical4', 'user1', 'bulk0', 'bulk3']);
});

it('[SE25] Postgres: bulk steps hold at most BULK_SLOTS connections, while an SOS and user pushes pass at once', async () => {
  const gate = createDatabaseGate('postgres');
  const bulk = Array.from({ length: BULK_SLOTS + 3 }, job);
  const bulkRuns = bulk.map((j) => gate.run('bulk', j.work));
  await settle();
  await settle();
  expect(bulk.filter((j) => j.state.started)).toHaveLength(BULK_SLOTS);
  const sos = job();
  const user = job();
  const sosRun = gate.run('critical', sos.work);
  const userRun = gate.run('user', user.work);
  await settle();
  expect([sos.state.started, user.state.started]).toEqual([true, true]);
  sos.end();
  user.end();
  await Promise.all([sosRun, userRun]);
  for (const j of bulk) j.end();
  await Promise.all(bulkRuns);
  expect(bulk.every((j) => j.state.started)).toBe(true);
});

it('[SE24] PGlite: while a critical request is being handled, no bulk step starts; others may', async () => {
  const gate = createDatabaseGate('pglite');
  let release!: () => void;
  const sos = gate.whileCritical(() => new Promise<void>((resolve) => (release = resolve)));
  const order: string[] = [];
  const bulk = gate.run('bulk', async () => {
    order.push('bulk');
  });
  const user = gate.run('user', async () => {
    order.push('user');
  });
  await settle();
  await settle();
  expect(order).toEqual(['user']);
  release();
  await Promise.all([sos, bulk, user]);
  expect(order).toEqual(['user', 'bulk']);
});
