import { describe, expect, it } from 'vitest';
import { PatientLocker } from './patient-locker.ts';

const never = new AbortController().signal;

describe('the upload lock (patient with a dropped PATCH)', () => {
  it('lets the holder finish by itself within the grace: it is never asked to let go', async () => {
    const locker = new PatientLocker({ graceMs: 1_000, timeoutMs: 5_000 });
    const asked: string[] = [];
    const patch = locker.newLock('upload-1');
    await patch.lock(never, () => void asked.push('patch'));
    const head = locker.newLock('upload-1');
    const acquired = head.lock(never, () => void asked.push('head'));
    // The dropped PATCH writes its last bytes, then releases.
    setTimeout(() => void patch.unlock(), 50);
    await acquired;
    expect(asked).toEqual([]);
    await head.unlock();
  });

  it('asks a holder that keeps the lock to let go once the grace is over, and then takes it', async () => {
    const locker = new PatientLocker({ graceMs: 100, timeoutMs: 5_000 });
    const patch = locker.newLock('upload-2');
    const startedAt = Date.now();
    let askedAfterMs = -1;
    await patch.lock(never, () => {
      askedAfterMs = Date.now() - startedAt;
      void patch.unlock();
    });
    await locker.newLock('upload-2').lock(never, () => {});
    expect(askedAfterMs).toBeGreaterThanOrEqual(90);
  });

  it("fails with tus's lock timeout when the holder never lets go", async () => {
    const locker = new PatientLocker({ graceMs: 20, timeoutMs: 200 });
    await locker.newLock('upload-3').lock(never, () => {});
    await expect(locker.newLock('upload-3').lock(never, () => {})).rejects.toMatchObject({
      status_code: 500,
    });
  });

  it('takes the lock in arrival order: a HEAD waits for the PATCH that arrived first but is still checking its token', async () => {
    const locker = new PatientLocker({ graceMs: 5_000, timeoutMs: 10_000 });
    const order: string[] = [];
    let tokenChecked = () => {};
    const tokenCheck = new Promise<void>((resolve) => (tokenChecked = resolve));
    const patch = locker.inArrivalOrder('upload-4', async () => {
      await tokenCheck;
      const lock = locker.newLock('upload-4');
      await lock.lock(never, () => void order.push('patch asked to let go'));
      order.push('patch');
      await lock.unlock();
    });
    const head = locker.inArrivalOrder('upload-4', async () => {
      const lock = locker.newLock('upload-4');
      await lock.lock(never, () => {});
      order.push('head');
      await lock.unlock();
    });
    setTimeout(tokenChecked, 100);
    await Promise.all([patch, head]);
    expect(order).toEqual(['patch', 'head']);
  });

  it('lets the next request go as soon as the one before it ends without taking the lock (refused)', async () => {
    const locker = new PatientLocker({ graceMs: 10_000, timeoutMs: 20_000 });
    const refusedPatch = locker.inArrivalOrder('upload-5', () => Promise.reject(new Error('401')));
    const startedAt = Date.now();
    await locker.inArrivalOrder('upload-5', async () => {
      await locker.newLock('upload-5').lock(never, () => {});
    });
    // Not the 10 s grace (with room for a loaded machine).
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    await expect(refusedPatch).rejects.toThrow('401');
  });

  it('gives an earlier request that does not reach the lock within the grace no more of a wait', async () => {
    const locker = new PatientLocker({ graceMs: 100, timeoutMs: 20_000 });
    let stuckEnds = () => {};
    const stuck = locker.inArrivalOrder(
      'upload-6',
      () => new Promise<void>((resolve) => (stuckEnds = resolve)),
    );
    const startedAt = Date.now();
    await locker.inArrivalOrder('upload-6', async () => {
      await locker.newLock('upload-6').lock(never, () => {});
    });
    const waited = Date.now() - startedAt;
    expect(waited).toBeGreaterThanOrEqual(90);
    expect(waited).toBeLessThan(10_000);
    stuckEnds();
    await stuck;
  });

  it('keeps no line for uploads with nothing in flight, and none for a request without an upload id', async () => {
    const locker = new PatientLocker({ graceMs: 100, timeoutMs: 5_000 });
    await locker.inArrivalOrder('upload-7', async () => {});
    expect(await locker.inArrivalOrder(undefined, async () => 'created')).toBe('created');
    expect(locker.inLine()).toBe(0);
  });
});
