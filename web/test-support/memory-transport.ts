/**
 * An in-memory network between sync clients and a server for deterministic tests. Messages are JSON round-tripped
 * like on the wire. In `manual` mode a request waits until the test delivers it (`deliver`, `flush`), so tests
 * decide every interleaving without timers. Faults apply to the next requests, in order:
 * - `drop-request`: the server never sees it; the client gets a network error.
 * - `drop-response`: the server commits it; the client gets a network error (the classic "did it arrive?").
 * - `duplicate`: the server gets it twice; the client gets the second answer.
 * - `delay`: the client gets a network error now; the server gets it when the test calls `deliverDelayed`
 *   (a stale copy arriving late, after newer requests).
 * - `server-crash`: the server dies mid-batch after `after` mutations (nothing of the batch commits).
 * - `{ status, body, retryAfter }`: a canned answer (503, 500, 426, …) without reaching the server.
 * In manual mode a delivered request's answer can also be held (`deliver(i, { holdAnswer: true })`): the server
 * has handled it, and the client hears of it only at `releaseAnswer` (a large answer still on its way while a
 * later, smaller one arrives first).
 */
import type { PullRequest } from '@vitalwatch/schema/protocol/pull-request';
import type { PushRequest } from '@vitalwatch/schema/protocol/push-request';
import type { SyncTransport, TransportResponse } from '../src/sync/transport.ts';

/** The server side of the in-memory network: the fake server (fake-sync-server.ts) or the real one over HTTP. */
export interface SyncEndpoint {
  push(body: unknown, token: string): Promise<TransportResponse>;
  pull(body: unknown, token: string): Promise<TransportResponse>;
  /** The next push handles `n` mutations, then the server dies: nothing of that batch commits, nobody is answered. */
  crashAfter(n: number): void;
}

export type Fault =
  | 'drop-request'
  | 'drop-response'
  | 'duplicate'
  | 'delay'
  | { readonly kind: 'server-crash'; readonly after: number }
  | { readonly status: number; readonly body?: unknown; readonly retryAfter?: string };

export interface ExchangeLog {
  readonly route: 'push' | 'pull';
  readonly request: PushRequest | PullRequest;
  readonly token: string;
  /** Undefined when the client got a network error. */
  readonly status?: number;
}

type Route = 'push' | 'pull';

interface Waiting {
  readonly entry: { route: Route; request: PushRequest | PullRequest; token: string; status?: number };
  readonly body: unknown;
  readonly resolve: (res: TransportResponse) => void;
  readonly reject: (error: Error) => void;
}

export interface MemoryTransport extends SyncTransport {
  /** Applies to the next requests, first in first out. */
  inject(...faults: Fault[]): void;
  /** Every request the client made, in order. */
  readonly log: readonly ExchangeLog[];
  /** Manual mode: requests waiting for delivery. */
  readonly waiting: number;
  /** Manual mode: delivers the waiting request at `index` (0 = oldest); its answer is held if asked. */
  deliver(index?: number, options?: { readonly holdAnswer?: boolean }): Promise<void>;
  /** Manual mode: answers held by `deliver`. */
  readonly heldAnswers: number;
  /** Manual mode: lets the held answer at `index` (0 = oldest) reach the client. */
  releaseAnswer(index?: number): void;
  /** Manual mode: resolves as soon as `count` requests (default 1) wait for delivery. */
  requestArrived(count?: number): Promise<void>;
  /** Manual mode: delivers every request and held answer (oldest first) until `work` settles; returns its result. */
  run<T>(work: Promise<T>): Promise<T>;
  /** Manual mode: fails the waiting request at `index` with a network error without reaching the server. */
  lose(index?: number): void;
  /**
   * The client dies with requests in flight: each waiting request reaches the server if `reachesServer(i)`, and
   * none is ever answered (the dead client's code never runs again), nor is any held answer.
   */
  abandon(reachesServer: (index: number) => boolean): Promise<void>;
  /** Sends the requests held back by `delay` faults to the server; their answers reach nobody. */
  deliverDelayed(): Promise<void>;
  /** Requests held back by `delay` faults. */
  readonly delayed: number;
}

export function createMemoryTransport(
  server: SyncEndpoint,
  options: { manual?: boolean } = {},
): MemoryTransport {
  const faults: Fault[] = [];
  const log: ExchangeLog[] = [];
  const queue: Waiting[] = [];
  const held: Array<() => void> = [];
  const delayed: Array<{ route: Route; body: unknown; token: string }> = [];
  const arrived: Array<{ readonly count: number; readonly wake: () => void }> = [];

  const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;
  const callServer = (route: Route, body: unknown, token: string) =>
    route === 'push' ? server.push(wire(body), token) : server.pull(wire(body), token);

  type LogEntry = { route: Route; request: PushRequest | PullRequest; token: string; status?: number };

  async function exchange(entry: LogEntry, body: unknown): Promise<TransportResponse> {
    const { route, token } = entry;
    const fault = faults.shift();
    if (fault === 'drop-request') throw new Error('network error (request lost)');
    if (fault === 'delay') {
      delayed.push({ route, body, token });
      throw new Error('network error (request delayed)');
    }
    if (typeof fault === 'object' && 'status' in fault) {
      entry.status = fault.status;
      return {
        status: fault.status,
        body: fault.body ?? null,
        ...(fault.retryAfter === undefined ? {} : { retryAfter: fault.retryAfter }),
      };
    }
    if (typeof fault === 'object') {
      // A read has nothing to roll back: the server just dies.
      if (route === 'pull') throw new Error('network error (server restarted)');
      server.crashAfter(fault.after);
    }
    let res = await callServer(route, body, token);
    if (fault === 'duplicate') res = await callServer(route, body, token);
    if (fault === 'drop-response') throw new Error('network error (response lost)');
    entry.status = res.status;
    return { ...res, body: wire(res.body) };
  }

  function request(route: Route, body: unknown, token: string): Promise<TransportResponse> {
    const entry: LogEntry = { route, request: wire(body) as PushRequest | PullRequest, token };
    log.push(entry);
    if (!options.manual) return exchange(entry, body);
    return new Promise((resolve, reject) => {
      queue.push({ entry, body, resolve, reject });
      for (const waiter of arrived.filter((w) => w.count <= queue.length)) {
        arrived.splice(arrived.indexOf(waiter), 1);
        waiter.wake();
      }
    });
  }

  function requestArrived(count = 1): Promise<void> {
    if (queue.length >= count) return Promise.resolve();
    return new Promise((wake) => arrived.push({ count, wake }));
  }

  async function deliver(index = 0, options: { readonly holdAnswer?: boolean } = {}): Promise<void> {
    const [waiting] = queue.splice(index, 1);
    if (waiting === undefined) throw new Error(`no request waiting at ${index}`);
    let answer: () => void;
    try {
      const res = await exchange(waiting.entry, waiting.body);
      answer = () => waiting.resolve(res);
    } catch (error) {
      answer = () => waiting.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (options.holdAnswer === true) held.push(answer);
    else answer();
  }

  function releaseAnswer(index = 0): void {
    const [answer] = held.splice(index, 1);
    if (answer === undefined) throw new Error(`no answer held at ${index}`);
    answer();
  }

  return {
    push: (req, token) => request('push', req, token),
    pull: (req, token) => request('pull', req, token),
    inject: (...more) => {
      faults.push(...more);
    },
    log,
    get waiting() {
      return queue.length;
    },
    deliver,
    get heldAnswers() {
      return held.length;
    },
    releaseAnswer,
    requestArrived,
    async run<T>(work: Promise<T>): Promise<T> {
      let done = false;
      const finished = work.then(
        () => {
          done = true;
        },
        () => {
          done = true;
        },
      );
      for (;;) {
        if (held.length === 0) await Promise.race([requestArrived(), finished]);
        if (queue.length > 0) await deliver(0);
        else if (held.length > 0) releaseAnswer(0);
        else if (done) return work;
      }
    },
    lose(index = 0) {
      const [waiting] = queue.splice(index, 1);
      waiting?.reject(new Error('network error (request lost)'));
    },
    async abandon(reachesServer) {
      held.splice(0);
      const dead = queue.splice(0);
      for (const [i, w] of dead.entries()) {
        if (!reachesServer(i)) continue;
        try {
          await callServer(w.entry.route, w.body, w.entry.token);
        } catch {
          // What the server did with it is all that matters.
        }
      }
    },
    async deliverDelayed() {
      for (const d of delayed.splice(0)) {
        try {
          await callServer(d.route, d.body, d.token);
        } catch {
          // A crash of a stale request changes nothing.
        }
      }
    },
    get delayed() {
      return delayed.length;
    },
  };
}
