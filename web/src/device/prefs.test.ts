import 'fake-indexeddb/auto';
import { createRoot } from 'solid-js';
import { describe, expect, it } from 'vitest';
import type { SettingsRow } from '@vitalwatch/schema/protocol/rows';
import { LOCAL_SETTINGS_ID } from '../sync/apply-mutation.ts';
import { bindUser, openLocalDb } from '../sync/local-db.ts';
import { createMutators } from '../sync/mutators.ts';
import { TEST_USER_ID, TestClock } from '../../test-support/test-device.ts';
import { hasLegacyPrefs, legacySettingsFields, migrateLegacyPrefs } from './migrate-prefs.ts';
import { createPrefs, PREFS_KEY, SETTINGS_MIRROR_KEY } from './prefs.ts';

/** localStorage as the browser has it, in memory. */
class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, String(value));
  }
}

let dbCount = 0;

async function phone(options: { signedIn?: boolean; storage?: MemoryStorage; languages?: string[] } = {}) {
  const db = openLocalDb({ name: `prefs-test-${++dbCount}` });
  if (options.signedIn === true) await bindUser(db, TEST_USER_ID);
  const clock = new TestClock();
  const mutators = createMutators({ db, now: () => clock.t++ });
  const storage = options.storage ?? new MemoryStorage();
  const prefs = createRoot(() =>
    createPrefs({ db, mutators, storage, languages: options.languages ?? ['en-GB'] }),
  );
  return { db, mutators, storage, prefs };
}

describe('the synced SOS settings on the device', () => {
  it('[SO41] before any sync or sign-in, the defaults apply: 5 s countdown, the language region and its number', async () => {
    const { prefs } = await phone({ languages: ['sw-KE'] });
    expect(prefs.settings()).toMatchObject({
      name: '',
      countdownSeconds: 5,
      region: 'KE',
      regionIsDefault: true,
      emergencyNumber: '999',
      emergencyNumberIsDefault: true,
      silentSos: false,
    });
    // One object for readers that predate the split (the SOS flow reads prefs().countdownSeconds, …).
    expect(prefs.prefs()).toMatchObject({ countdownSeconds: 5, emergencyNumber: '999', onboarded: false });
  });

  it('[SO41] signed out, a change applies at once to this phone and waits in the outbox for the account', async () => {
    const { prefs, db } = await phone();
    await prefs.updateSettings({ name: 'Ama', sosCountdownSeconds: 2, region: 'GH', silentSos: true });
    expect(prefs.settings()).toMatchObject({
      name: 'Ama',
      countdownSeconds: 2,
      region: 'GH',
      regionIsDefault: false,
      emergencyNumber: '112',
      silentSos: true,
    });
    expect((await db.user_settings.toArray()).map((r) => r.id)).toEqual([LOCAL_SETTINGS_ID]);
    const [entry] = await db.outbox.toArray();
    expect(entry).toMatchObject({ name: 'settings.update@1', lane: 'user' });
  });

  it('[SO41] signed in, edits go to the account row, starting from what this phone set before signing in', async () => {
    const { prefs, db } = await phone();
    await prefs.updateSettings({ name: 'Ama', emergencyNumber: '911' });
    await bindUser(db, TEST_USER_ID);
    await prefs.updateSettings({ sosCountdownSeconds: 0 });
    expect(await db.user_settings.get(TEST_USER_ID)).toMatchObject({
      name: 'Ama',
      emergencyNumber: '911',
      sosCountdownSeconds: 0,
    });
    expect(prefs.settings()).toMatchObject({ name: 'Ama', emergencyNumber: '911', countdownSeconds: 0 });
  });

  it('[SO41] the values are there synchronously at the next start, before IndexedDB answers (the mirror)', async () => {
    const storage = new MemoryStorage();
    const first = await phone({ signedIn: true, storage });
    await first.prefs.updateSettings({ sosCountdownSeconds: 9, emergencyNumber: '*555' });
    expect(storage.getItem(SETTINGS_MIRROR_KEY)).not.toBeNull();
    const db = openLocalDb({ name: `prefs-test-${++dbCount}` });
    const again = createRoot(() =>
      createPrefs({ db, mutators: createMutators({ db, now: () => 0 }), storage, languages: ['en-GB'] }),
    );
    expect(again.settings()).toMatchObject({ countdownSeconds: 9, emergencyNumber: '*555' });
  });

  it('[SO41] a pulled row (the account, from another device) replaces what the phone shows', async () => {
    const storage = new MemoryStorage();
    const db = openLocalDb({ name: `prefs-test-${++dbCount}` });
    let push: ((rows: SettingsRow[]) => void) | undefined;
    const prefs = createRoot(() =>
      createPrefs({
        db,
        mutators: createMutators({ db, now: () => 0 }),
        storage,
        languages: ['en-US'],
        watch: (onRows) => {
          push = onRows;
        },
      }),
    );
    const pulled: SettingsRow = {
      id: TEST_USER_ID,
      version: 7,
      sosCountdownSeconds: 4,
      cancelPinSet: true,
      duressPinSet: false,
      autoRecordAudioSeconds: 0,
      shareMediaWithContacts: false,
      shareLocationWithContacts: true,
      escalateTier2AfterSeconds: 120,
      escalateAllAfterSeconds: 300,
      updatedAt: 1,
      name: 'Kofi',
      emergencyNumber: null,
      region: 'GB',
      silentSos: false,
    };
    push?.([{ ...pulled, id: LOCAL_SETTINGS_ID, name: 'old' }, pulled]);
    expect(prefs.settings()).toMatchObject({
      name: 'Kofi',
      countdownSeconds: 4,
      region: 'GB',
      emergencyNumber: '999',
      cancelPinSet: true,
    });
  });
});

describe('the settings older builds kept on this phone move into the synced record once', () => {
  const legacy = {
    name: ' Ama Mensah ',
    countdownSeconds: 3,
    emergencyNumber: '999',
    cancelPin: null,
    duressPin: null,
    lastFix: null,
    onboarded: true,
    pinsQueuedIn: null,
  };

  it('[SO43] the chosen values are queued as one settings.update@1, and the device prefs stay', async () => {
    const storage = new MemoryStorage();
    storage.setItem(PREFS_KEY, JSON.stringify(legacy));
    const place = { storage, key: PREFS_KEY, defaultEmergencyNumber: '911' };
    expect(hasLegacyPrefs(place)).toBe(true);
    const { prefs, db } = await phone({ storage, signedIn: true, languages: ['en-US'] });
    const moved = await migrateLegacyPrefs(place, (f) => prefs.updateSettings(f));
    expect(moved).toEqual({ name: 'Ama Mensah', sosCountdownSeconds: 3, emergencyNumber: '999' });
    expect((await db.outbox.toArray()).map((e) => e.args)).toEqual([{ fields: moved }]);
    expect(prefs.settings()).toMatchObject({
      name: 'Ama Mensah',
      countdownSeconds: 3,
      emergencyNumber: '999',
    });
    expect(prefs.prefs().onboarded).toBe(true);
    // Once: the old fields are gone, so a second start moves nothing.
    expect(hasLegacyPrefs(place)).toBe(false);
    expect(await migrateLegacyPrefs(place, (f) => prefs.updateSettings(f))).toEqual({});
    expect(await db.outbox.count()).toBe(1);
  });

  it("[SO43] defaults and invalid values are not moved, so they never overwrite another device's choice", () => {
    expect(legacySettingsFields({ name: '', countdownSeconds: 5, emergencyNumber: '911' }, '911')).toEqual(
      {},
    );
    expect(
      legacySettingsFields({ name: 42, countdownSeconds: 11, emergencyNumber: 'call 911' }, '911'),
    ).toEqual({});
    expect(legacySettingsFields({ countdownSeconds: 0 }, '911')).toEqual({ sosCountdownSeconds: 0 });
  });

  it('[SO43] a phone with nothing stored, or a broken value, moves nothing and keeps working', async () => {
    const storage = new MemoryStorage();
    expect(hasLegacyPrefs({ storage, key: PREFS_KEY })).toBe(false);
    storage.setItem(PREFS_KEY, '{not json');
    expect(hasLegacyPrefs({ storage, key: PREFS_KEY })).toBe(false);
    const { prefs } = await phone({ storage });
    expect(prefs.prefs().onboarded).toBe(false);
  });
});
