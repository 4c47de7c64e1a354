/**
 * tus's upload lock, patient with a request whose connection just dropped, and fair to requests in the order they
 * arrived.
 *
 * When a weak link drops mid-PATCH, the client resumes with a HEAD at once, while the server may still be reading
 * that PATCH's last bytes out of the dead socket (on a loaded machine, up to a megabyte). @tus/server's
 * MemoryLocker asks the holder to let go the moment another request wants the lock, and the PATCH handler answers
 * by aborting its body: the bytes still unread are lost, the HEAD reports the older offset, and the client sends
 * them again (a 5 MB upload over a link dropping every ~1 MB once cost 1.22× the file instead of ~1.02×).
 *
 * This locker lets the holder finish by itself for `graceMs` (a dead PATCH ends as soon as its buffered bytes are
 * written) and only then asks it to let go, so a HEAD sees every byte that reached the server. A live PATCH that
 * keeps the lock (two tabs uploading the same file) is still asked after the grace, as before; a lock not
 * obtained within `timeoutMs` fails with tus's own ERR_LOCK_TIMEOUT.
 *
 * The grace only helps a PATCH that already holds the lock. Under load the PATCH may still be checking its token
 * (a database round trip) when the connection drops and the resuming HEAD arrives; the HEAD would then take the
 * free lock first, report the older offset, and every retry would resend the same megabyte (measured: 4× the
 * file with a 500 ms token check). So a request run through `inArrivalOrder` takes the lock only after every
 * earlier request for the same upload has taken it or ended, waiting at most `graceMs` for each.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/server';

/** tus's ERR_LOCK_TIMEOUT (`status_code`, `body`), as an Error. */
const lockTimeout = () => Object.assign(new Error(ERRORS.ERR_LOCK_TIMEOUT.body), ERRORS.ERR_LOCK_TIMEOUT);

type Held = { released: Promise<void>; release: () => void; requestRelease: RequestRelease };

/** A request's place in line for one upload: `ahead` settles once the request before it took the lock or ended. */
type Place = { id: string; ahead: Promise<void>; taken: () => void };

export class PatientLocker implements Locker {
  readonly held = new Map<string, Held>();
  /** Per upload, when the last request that arrived will have taken the lock or ended. */
  private readonly lastInLine = new Map<string, Promise<void>>();
  private readonly places = new AsyncLocalStorage<Place>();

  constructor(readonly options: { graceMs: number; timeoutMs: number }) {}

  newLock(id: string): Lock {
    return new PatientLock(this, id);
  }

  /**
   * Runs the handling of one request for upload `id` (none for a creation) with a place in line: a lock on `id`
   * taken inside waits first for the requests that arrived before. Call it before anything is awaited.
   */
  async inArrivalOrder<T>(id: string | undefined, handle: () => Promise<T>): Promise<T> {
    if (id === undefined) return handle();
    let taken = () => {};
    const turn = new Promise<void>((resolve) => (taken = resolve));
    const ahead = this.lastInLine.get(id) ?? Promise.resolve();
    this.lastInLine.set(id, turn);
    try {
      return await this.places.run({ id, ahead, taken }, handle);
    } finally {
      taken();
      if (this.lastInLine.get(id) === turn) this.lastInLine.delete(id);
    }
  }

  /** How many uploads have requests in line (for tests: a finished upload leaves nothing behind). */
  inLine(): number {
    return this.lastInLine.size;
  }

  /** The place in line of the request now running, if it was given one for upload `id`. */
  placeFor(id: string): Place | undefined {
    const place = this.places.getStore();
    return place?.id === id ? place : undefined;
  }
}

class PatientLock implements Lock {
  constructor(
    private readonly locker: PatientLocker,
    private readonly id: string,
  ) {}

  async lock(stop: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const { graceMs, timeoutMs } = this.locker.options;
    const deadline = Date.now() + timeoutMs;
    const place = this.locker.placeFor(this.id);
    // An earlier request that has not taken the lock within the grace loses its turn.
    if (place !== undefined) await settlesWithin(place.ahead, Math.min(graceMs, timeoutMs), stop);
    for (;;) {
      const holder = this.locker.held.get(this.id);
      if (holder === undefined) {
        let release = () => {};
        const released = new Promise<void>((resolve) => (release = resolve));
        this.locker.held.set(this.id, { released, release, requestRelease });
        place?.taken();
        return;
      }
      if (stop.aborted || Date.now() >= deadline) throw lockTimeout();
      const waited = await settlesWithin(holder.released, Math.min(graceMs, deadline - Date.now()), stop);
      if (!waited) await holder.requestRelease();
      // Whoever released, the next turn of the loop takes the lock if it is free (or waits again).
      await settlesWithin(holder.released, Math.max(0, deadline - Date.now()), stop);
    }
  }

  async unlock(): Promise<void> {
    const holder = this.locker.held.get(this.id);
    if (holder === undefined) throw new Error('Releasing an unlocked lock!');
    this.locker.held.delete(this.id);
    holder.release();
  }
}

/** Whether `settled` settled within `ms` (false on timeout or when `stop` aborts). */
function settlesWithin(settled: Promise<void>, ms: number, stop: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
      resolve(value);
    };
    const onStop = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    stop.addEventListener('abort', onStop);
    void settled.then(() => done(true));
  });
}
