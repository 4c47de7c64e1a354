import { expect, it, vi } from 'vitest';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import { BULK_SLOTS, createDatabaseGate, MAY_BE_CRITICAL_MS, type DatabaseGate } from './database-gate.ts';

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

it('[SE47] PGlite: a request that may be an SOS holds bulk steps back until it is released, once however often', async () => {
  const gate = createDatabaseGate('pglite');
  const release = gate.mayBeCritical();
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
  // Becoming a real SOS before letting go of the hold leaves no gap for a bulk step.
  let endSos!: () => void;
  const sos = gate.whileCritical(() => new Promise<void>((resolve) => (endSos = resolve)));
  release();
  release();
  await settle();
  await settle();
  expect(order).toEqual(['user']);
  endSos();
  await Promise.all([sos, bulk, user]);
  expect(order).toEqual(['user', 'bulk']);
});

it('[SE47] a request that may be an SOS holds bulk work back for MAY_BE_CRITICAL_MS at most', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  try {
    const gate = createDatabaseGate('pglite');
    gate.mayBeCritical(); // never released: a client that stops sending its body
    const order: string[] = [];
    const bulk = gate.run('bulk', async () => {
      order.push('bulk');
    });
    await settle();
    await settle();
    vi.advanceTimersByTime(MAY_BE_CRITICAL_MS - 1);
    await settle();
    expect(order).toEqual([]);
    vi.advanceTimersByTime(1);
    await bulk;
    expect(order).toEqual(['bulk']);
  } finally {
    vi.useRealTimers();
  }
});

it.each(['pglite', 'postgres'] as const)(
  '[SE47] %s: the bulk lane’s CPU work (bulkTurn) waits while an SOS, or a request that may be one, is in flight',
  async (kind) => {
    const gate = createDatabaseGate(kind);
    const release = gate.mayBeCritical();
    let endSos!: () => void;
    const sos = gate.whileCritical(() => new Promise<void>((resolve) => (endSos = resolve)));
    let turned = false;
    const turn = gate.bulkTurn().then(() => (turned = true));
    release();
    await settle();
    await settle();
    expect(turned).toBe(false);
    endSos();
    await Promise.all([sos, turn]);
    expect(turned).toBe(true);
    // With nothing critical in flight, a turn is just the next turn of the event loop.
    await gate.bulkTurn();
  },
);

/** Turns of the event loop that the test gives one at a time (the gate's `nextTurn`). */
function steppedTurns() {
  const due: Array<() => void> = [];
  return {
    nextTurn: (callback: () => void) => void due.push(callback),
    /** One turn: what was scheduled before it runs, and the work it resumes settles (real immediates only). */
    async turn() {
      for (const callback of due.splice(0)) callback();
      await settle();
    },
  };
}

/** An upload's pieces of bulk work (its checks, then steps), each logged when it runs. */
async function upload(gate: DatabaseGate, name: string, pieces: number, log: string[]): Promise<void> {
  for (let i = 0; i < pieces; i++) {
    if (i % 2 === 0) {
      await gate.bulkTurn();
      log.push(`${name} checks ${i}`);
    } else {
      await gate.run('bulk', async () => {
        log.push(`${name} step ${i}`);
      });
    }
  }
}

it.each(['pglite', 'postgres'] as const)(
  '[SE49] %s: bulk work of several uploads runs one piece per turn of the event loop, in turn',
  async (kind) => {
    const turns = steppedTurns();
    const gate = createDatabaseGate(kind, turns.nextTurn);
    const log: string[] = [];
    const uploads = Promise.all([upload(gate, 'A', 4, log), upload(gate, 'B', 4, log)]);
    await settle();
    expect(log).toEqual([]); // nothing runs before its turn
    for (let turn = 1; turn <= 8; turn++) {
      await turns.turn();
      expect(log).toHaveLength(turn);
    }
    await uploads;
    expect(log).toEqual([
      'A checks 0',
      'B checks 0',
      'A step 1',
      'B step 1',
      'A checks 2',
      'B checks 2',
      'A step 3',
      'B step 3',
    ]);
  },
);

it('[SE49] PGlite: a request that may be an SOS, arriving between two turns, waits for no bulk work; bulk work goes on a turn after it ends', async () => {
  const turns = steppedTurns();
  const gate = createDatabaseGate('pglite', turns.nextTurn);
  const log: string[] = [];
  const uploads = Promise.all([upload(gate, 'A', 6, log), upload(gate, 'B', 6, log)]);
  await turns.turn();
  expect(log).toEqual(['A checks 0']); // the block in progress when the request arrives
  const release = gate.mayBeCritical();
  for (let turn = 0; turn < 3; turn++) await turns.turn();
  expect(log).toEqual(['A checks 0']);
  let endSos!: () => void;
  const sos = gate.whileCritical(() => new Promise<void>((resolve) => (endSos = resolve)));
  release();
  await turns.turn();
  endSos();
  await sos;
  await settle();
  expect(log).toEqual(['A checks 0']); // not in the turn the SOS ended in: its answer is written first
  await turns.turn();
  expect(log).toEqual(['A checks 0', 'B checks 0']);
  while (log.length < 12) await turns.turn();
  await uploads;
});
