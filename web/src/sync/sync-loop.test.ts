import { describe, expect, it } from 'vitest';
import type { SyncOutcome } from './sync-client.ts';
import { startSyncLoop, type Signal, type Timers, type Visibility } from './sync-loop.ts';

/** A clock that moves only when the test says so. */
class FakeTimers implements Timers {
  t = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();
  now = (): number => this.t;
  setTimeout = (callback: () => void, ms: number): number => {
    const id = this.nextId++;
    this.pending.set(id, { at: this.t + ms, callback });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, p]) => p.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.t = due[1].at;
      due[1].callback();
    }
    this.t = end;
  }
  get scheduled(): number[] {
    return [...this.pending.values()].map((p) => p.at - this.t).sort((a, b) => a - b);
  }
}

class FakeSignal implements Signal {
  private readonly listeners = new Set<() => void>();
  subscribe(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  fire(): void {
    for (const l of this.listeners) l();
  }
  get count(): number {
    return this.listeners.size;
  }
}

class FakeVisibility extends FakeSignal implements Visibility {
  visible = true;
  isVisible = () => this.visible;
}

const OK: SyncOutcome = { kind: 'ok', pushed: 0, pulled: 0, stuckLanes: [] };

function setup(outcomes: SyncOutcome[] = []) {
  const timers = new FakeTimers();
  const online = new FakeSignal();
  const visibility = new FakeVisibility();
  const runs: number[] = [];
  const loop = startSyncLoop({
    sync: async () => {
      runs.push(timers.t);
      return outcomes.shift() ?? OK;
    },
    timers,
    onlineEvents: online,
    visibility,
    intervalMs: 60_000,
    afterWriteDelayMs: 2_000,
    minBackoffMs: 1_000,
    maxBackoffMs: 60_000,
    random: () => 1, // no jitter: backoff is exactly min × 2^(failures-1)
  });
  return { timers, online, visibility, runs, loop };
}

describe('sync loop', () => {
  it('[CL11] syncs at start, then every interval while visible', async () => {
    const { timers, runs, loop } = setup();
    timers.advance(0);
    await loop.idle();
    expect(runs).toEqual([0]);
    timers.advance(60_000);
    await loop.idle();
    timers.advance(60_000);
    await loop.idle();
    expect(runs).toEqual([0, 60_000, 120_000]);
    loop.stop();
  });

  it('[CL11] no periodic sync while hidden; becoming visible syncs at once', async () => {
    const { timers, visibility, runs, loop } = setup();
    timers.advance(0);
    await loop.idle();
    visibility.visible = false;
    visibility.fire();
    timers.advance(10 * 60_000);
    expect(runs).toEqual([0]);
    visibility.visible = true;
    visibility.fire();
    timers.advance(0);
    await loop.idle();
    expect(runs).toEqual([0, 600_000]);
    loop.stop();
  });

  it('[CL11] a critical write syncs at once; other writes shortly after, coalesced', async () => {
    const { timers, runs, loop } = setup();
    timers.advance(0);
    await loop.idle();
    timers.advance(1_000);
    loop.notifyLocalWrite('user');
    timers.advance(500);
    loop.notifyLocalWrite('user');
    timers.advance(1_500);
    await loop.idle();
    expect(runs).toEqual([0, 3_000]);
    loop.notifyLocalWrite('critical');
    timers.advance(0);
    await loop.idle();
    expect(runs).toEqual([0, 3_000, 3_000]);
    loop.stop();
  });

  it('[CL11] a write during a round triggers another round right after it', async () => {
    const timers = new FakeTimers();
    let release: () => void = () => {};
    const runs: number[] = [];
    const loop = startSyncLoop({
      sync: () =>
        new Promise<SyncOutcome>((resolve) => {
          runs.push(timers.t);
          release = () => resolve(OK);
        }),
      timers,
    });
    timers.advance(0);
    loop.notifyLocalWrite('user');
    release();
    await loop.idle();
    timers.advance(0);
    release();
    await loop.idle();
    expect(runs).toEqual([0, 0]);
    loop.stop();
  });

  it('[CL11] failures back off exponentially, Retry-After is honoured, and `online` retries at once', async () => {
    const { timers, online, runs, loop } = setup([
      { kind: 'offline', error: 'x' },
      { kind: 'offline', error: 'x' },
      { kind: 'retry-later', status: 503, retryAfterMs: 30_000 },
      { kind: 'offline', error: 'x' },
    ]);
    timers.advance(0);
    await loop.idle();
    expect(timers.scheduled).toEqual([1_000]);
    timers.advance(1_000);
    await loop.idle();
    expect(timers.scheduled).toEqual([2_000]);
    timers.advance(2_000);
    await loop.idle();
    expect(timers.scheduled).toEqual([30_000]);
    timers.advance(30_000);
    await loop.idle();
    expect(timers.scheduled).toEqual([8_000]);
    online.fire();
    timers.advance(0);
    await loop.idle();
    expect(runs).toEqual([0, 1_000, 3_000, 33_000, 33_000]);
    expect(timers.scheduled).toEqual([60_000]); // success: back to the interval
    loop.stop();
  });

  it('[CL11] a poke parsed as the protocol’s Poke pulls when behind; anything else is ignored', async () => {
    const timers = new FakeTimers();
    const runs: number[] = [];
    const loop = startSyncLoop({
      sync: async () => {
        runs.push(timers.t);
        return OK;
      },
      timers,
      isBehind: async (version) => version > 10,
    });
    timers.advance(0);
    await loop.idle();
    loop.poke({ type: 'poke', version: 5 });
    loop.poke({ type: 'nonsense' });
    loop.poke('{"type":"poke","version":11}');
    await Promise.resolve();
    timers.advance(0);
    expect(runs).toEqual([0]);
    loop.poke({ type: 'poke', version: 11 });
    await Promise.resolve();
    await Promise.resolve();
    timers.advance(0);
    await loop.idle();
    expect(runs).toEqual([0, 0]);
    loop.stop();
  });

  it('[CL11] stop() cancels timers and unsubscribes', async () => {
    const { timers, online, visibility, runs, loop } = setup();
    loop.stop();
    online.fire();
    timers.advance(10 * 60_000);
    expect(runs).toEqual([]);
    expect([online.count, visibility.count]).toEqual([0, 0]);
  });
});
