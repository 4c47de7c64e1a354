import 'fake-indexeddb/auto';
import { ROW_SCHEMAS } from '@vitalwatch/schema/protocol/synced-tables';
import { describe, expect, it } from 'vitest';
import { bindUser, openLocalDb, readMeta } from '../sync/local-db.ts';
import { createMutators } from '../sync/mutators.ts';
import { TEST_USER_ID, TestClock } from '../../test-support/test-device.ts';
import { hashPin } from './pin.ts';
import { queuePinChange, queueStoredPins } from './pin-verifiers.ts';
import { DevicePrefs, type DevicePrefsStore, sosSettings } from './prefs.ts';

let dbCount = 0;

/** A device: its local database and mutators (signed in or not), and its preferences in memory. */
async function device(options: { signedIn: boolean; prefs?: Partial<DevicePrefs> }) {
  const db = openLocalDb({ name: `pin-verifiers-test-${++dbCount}` });
  if (options.signedIn) await bindUser(db, TEST_USER_ID);
  const clock = new TestClock();
  const mutators = createMutators({ db, now: () => clock.t++ });
  let value = DevicePrefs.parse({
    cancelPin: null,
    duressPin: null,
    lastFix: null,
    onboarded: true,
    pinsQueuedIn: null,
    ...options.prefs,
  });
  const prefs: DevicePrefsStore = {
    prefs: () => ({ ...value, ...sosSettings(null, ['en-GB']) }),
    update(patch) {
      value = DevicePrefs.parse({ ...value, ...patch });
    },
  };
  const outbox = async () =>
    (await db.outbox.toArray()).map((e) => ({ name: e.name, lane: e.lane, args: e.args }));
  return { db, mutators, prefs, outbox };
}

describe('the account learns the PIN hashes', () => {
  it('[AL20] setting, changing and removing a PIN queues settings.update@1; the local row only says whether it is set', async () => {
    const phone = await device({ signedIn: true });
    const cancelPin = await hashPin('2468');
    const duressPin = await hashPin('135790');
    await queuePinChange(phone, phone.prefs, { cancelPin, duressPin });
    const changed = await hashPin('8642');
    await queuePinChange(phone, phone.prefs, { cancelPin: changed });

    expect(await phone.outbox()).toEqual([
      { name: 'settings.update@1', lane: 'user', args: { fields: { cancelPin, duressPin } } },
      { name: 'settings.update@1', lane: 'user', args: { fields: { cancelPin: changed } } },
    ]);
    const row = await phone.db.user_settings.get(TEST_USER_ID);
    expect(row).toMatchObject({ cancelPinSet: true, duressPinSet: true });
    expect(ROW_SCHEMAS.user_settings.safeParse(row).success).toBe(true);
    expect(JSON.stringify(row)).not.toContain(changed.hash);
    expect(phone.prefs.prefs().pinsQueuedIn).toBe((await readMeta(phone.db, ['clientId'])).clientId);

    await queuePinChange(phone, phone.prefs, { cancelPin: null, duressPin: null });
    expect((await phone.outbox()).at(-1)).toMatchObject({
      args: { fields: { cancelPin: null, duressPin: null } },
    });
    expect(await phone.db.user_settings.get(TEST_USER_ID)).toMatchObject({
      cancelPinSet: false,
      duressPinSet: false,
    });
    await phone.db.delete();
  });

  it('[AL20] a PIN set before the server could check it is queued once at start, signed in or not', async () => {
    for (const signedIn of [true, false]) {
      const cancelPin = await hashPin('2468');
      const phone = await device({ signedIn, prefs: { cancelPin } });
      await queueStoredPins(phone, phone.prefs);
      await queueStoredPins(phone, phone.prefs);
      // Signed out, the entry waits in the outbox for the account the device signs in to.
      expect(await phone.outbox()).toEqual([
        { name: 'settings.update@1', lane: 'user', args: { fields: { cancelPin } } },
      ]);

      // A new local database (the old one was deleted for another account) gets them again.
      const { cancelPin: kept, duressPin, pinsQueuedIn } = phone.prefs.prefs();
      const fresh = await device({ signedIn, prefs: { cancelPin: kept, duressPin, pinsQueuedIn } });
      await queueStoredPins(fresh, fresh.prefs);
      expect(await fresh.outbox()).toHaveLength(1);
      await phone.db.delete();
      await fresh.db.delete();
    }
  });

  it('[AL20] a device without a PIN, or with a hash the server would refuse, queues nothing', async () => {
    const none = await device({ signedIn: true });
    await queueStoredPins(none, none.prefs);
    expect(await none.outbox()).toEqual([]);

    const legacy = { salt: 'ab', hash: 'cd', iterations: 1_000 };
    const duressPin = await hashPin('1357');
    const odd = await device({ signedIn: true, prefs: { cancelPin: legacy, duressPin } });
    await queueStoredPins(odd, odd.prefs);
    expect(await odd.outbox()).toEqual([
      { name: 'settings.update@1', lane: 'user', args: { fields: { duressPin } } },
    ]);
    await none.db.delete();
    await odd.db.delete();
  });
});
