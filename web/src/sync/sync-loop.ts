/**
 * When sync runs. The outbox drives it (docs/platform-facts.md: Background Sync is Chrome-only and Workbox's queue drops
 * entries on any HTTP answer): at start, on `online`, when the page becomes visible, on a timer while visible,
 * shortly after each local write (at once for the critical lane), on a server poke, and when the service
 * worker's `sync` event calls `syncNow()`.
 *
 * One run at a time; a trigger during a run asks for another run after it (a critical write during a run does not
 * wait for it: the running round pushes it at once, sync-client.ts, SPEC CL12). After a failure the next attempt
 * backs off exponentially (with jitter, and never sooner than a Retry-After); success resets the backoff. Timers,
 * events and randomness are injected, so tests drive it with a fake clock.
 */
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import { Poke } from '@vitalwatch/schema/protocol/poke';
import type { SyncOutcome } from './sync-client.ts';

export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Something that happens now and then (the `online` event, a visibility change). */
export interface Signal {
  subscribe(listener: () => void): () => void;
}

export interface Visibility extends Signal {
  isVisible(): boolean;
}

export interface SyncLoopOptions {
  /** One round, e.g. `() => runAsLeader(() => client.syncOnce())`. */
  sync: () => Promise<SyncOutcome>;
  timers?: Timers;
  onlineEvents?: Signal;
  visibility?: Visibility;
  /** Periodic check while visible; absent = none (the service worker). */
  intervalMs?: number;
  /** Debounce after a user/bulk write (critical writes go at once). Default 2 s. */
  afterWriteDelayMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** [0, 1), for jitter. */
  random?: () => number;
  /** For pokes: is the local cursor older than `version`? Absent = always pull. */
  isBehind?: (version: number) => Promise<boolean>;
}

export interface SyncLoop {
  notifyLocalWrite(lane: Lane): void;
  /** A message from `GET /sync/events`; parsed with the protocol's Poke schema, anything else is ignored. */
  poke(message: unknown): void;
  /** Runs (or joins) a round now, e.g. inside the service worker's `sync` event's waitUntil. */
  syncNow(): Promise<SyncOutcome>;
  /** Resolves when no round is running. */
  idle(): Promise<void>;
  stop(): void;
}

const defaultTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

export function startSyncLoop(options: SyncLoopOptions): SyncLoop {
  const timers = options.timers ?? defaultTimers;
  const random = options.random ?? Math.random;
  const afterWriteDelayMs = options.afterWriteDelayMs ?? 2_000;
  const minBackoffMs = options.minBackoffMs ?? 2_000;
  const maxBackoffMs = options.maxBackoffMs ?? 5 * 60_000;
  const visible = () => options.visibility?.isVisible() ?? true;

  let timer: { handle: unknown; dueAt: number; periodic: boolean } | null = null;
  let running: Promise<SyncOutcome> | null = null;
  let again = false;
  let failures = 0;
  let stopped = false;

  function schedule(delayMs: number, periodic = false): void {
    if (stopped) return;
    const dueAt = timers.now() + delayMs;
    if (timer !== null && timer.dueAt <= dueAt) return;
    if (timer !== null) timers.clearTimeout(timer.handle);
    const handle = timers.setTimeout(() => {
      timer = null;
      void syncNow();
    }, delayMs);
    timer = { handle, dueAt, periodic };
  }

  function backoff(): number {
    const base = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(base * (0.5 + random() / 2));
  }

  function afterRound(outcome: SyncOutcome): void {
    const rerun = again;
    again = false;
    if (outcome.kind === 'ok') {
      failures = 0;
      if (rerun) schedule(0);
      else if (options.intervalMs !== undefined && visible()) schedule(options.intervalMs, true);
      return;
    }
    failures += 1;
    if (outcome.kind === 'retry-later') schedule(Math.max(outcome.retryAfterMs ?? 0, backoff()));
    else if (outcome.kind === 'update-needed') schedule(maxBackoffMs);
    else schedule(backoff());
  }

  function syncNow(): Promise<SyncOutcome> {
    if (running !== null) {
      again = true;
      return running;
    }
    const round = options
      .sync()
      .catch((error: unknown): SyncOutcome => ({ kind: 'failed', status: 0, error: String(error) }));
    running = round.then((outcome) => {
      running = null;
      afterRound(outcome);
      return outcome;
    });
    return running;
  }

  const unsubscribe = [
    options.onlineEvents?.subscribe(() => {
      failures = 0;
      schedule(0);
    }),
    options.visibility?.subscribe(() => {
      if (visible()) schedule(0);
      else if (timer?.periodic === true) {
        timers.clearTimeout(timer.handle);
        timer = null;
      }
    }),
  ];
  schedule(0);

  return {
    notifyLocalWrite(lane) {
      if (running !== null) again = true;
      else schedule(lane === 'critical' ? 0 : afterWriteDelayMs);
    },
    poke(message) {
      const parsed = Poke.safeParse(message);
      if (!parsed.success) return;
      const { version } = parsed.data;
      void (options.isBehind?.(version) ?? Promise.resolve(true)).then((behind) => {
        if (behind) schedule(0);
      });
    },
    syncNow,
    async idle() {
      while (running !== null) await running;
    },
    stop() {
      stopped = true;
      if (timer !== null) timers.clearTimeout(timer.handle);
      timer = null;
      for (const off of unsubscribe) off?.();
    },
  };
}

/** `online` events of a window or worker global scope. */
export function globalOnlineEvents(target: EventTarget = globalThis): Signal {
  return {
    subscribe(listener) {
      target.addEventListener('online', listener);
      return () => target.removeEventListener('online', listener);
    },
  };
}

/** What `documentVisibility` needs of a Document (structural, so this module also typechecks in a worker). */
export interface VisibilityDocument {
  readonly visibilityState: string;
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

/** The page's visibility: `documentVisibility(document)` in a window (a service worker has none). */
export function documentVisibility(doc: VisibilityDocument): Visibility {
  return {
    isVisible: () => doc.visibilityState === 'visible',
    subscribe(listener) {
      doc.addEventListener('visibilitychange', listener);
      return () => doc.removeEventListener('visibilitychange', listener);
    },
  };
}
