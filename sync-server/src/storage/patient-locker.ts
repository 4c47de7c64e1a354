/**
 * tus's upload lock, patient with a request whose connection just dropped.
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
 */
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/server';

/** tus's ERR_LOCK_TIMEOUT (`status_code`, `body`), as an Error. */
const lockTimeout = () => Object.assign(new Error(ERRORS.ERR_LOCK_TIMEOUT.body), ERRORS.ERR_LOCK_TIMEOUT);

type Held = { released: Promise<void>; release: () => void; requestRelease: RequestRelease };

export class PatientLocker implements Locker {
  readonly held = new Map<string, Held>();

  constructor(readonly options: { graceMs: number; timeoutMs: number }) {}

  newLock(id: string): Lock {
    return new PatientLock(this, id);
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
    for (;;) {
      const holder = this.locker.held.get(this.id);
      if (holder === undefined) {
        let release = () => {};
        const released = new Promise<void>((resolve) => (release = resolve));
        this.locker.held.set(this.id, { released, release, requestRelease });
        return;
      }
      if (stop.aborted || Date.now() >= deadline) throw lockTimeout();
      const waited = await this.within(holder.released, Math.min(graceMs, deadline - Date.now()), stop);
      if (!waited) await holder.requestRelease();
      // Whoever released, the next turn of the loop takes the lock if it is free (or waits again).
      await this.within(holder.released, Math.max(0, deadline - Date.now()), stop);
    }
  }

  async unlock(): Promise<void> {
    const holder = this.locker.held.get(this.id);
    if (holder === undefined) throw new Error('Releasing an unlocked lock!');
    this.locker.held.delete(this.id);
    holder.release();
  }

  /** Whether `released` settled within `ms` (false on timeout or when `stop` aborts). */
  private within(released: Promise<void>, ms: number, stop: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        stop.removeEventListener('abort', onStop);
        resolve(value);
      };
      const onStop = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      stop.addEventListener('abort', onStop);
      void released.then(() => done(true));
    });
  }
}
