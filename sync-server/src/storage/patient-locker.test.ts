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
});
