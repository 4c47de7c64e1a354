import 'fake-indexeddb/auto';
import { seededRandom } from '@vitalwatch/schema/seeded-random';
import type { PullRequest } from '@vitalwatch/schema/protocol/pull-request';
import type { MoodRow } from '@vitalwatch/schema/protocol/rows';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeSyncServer, type FakeSyncServer } from '../../test-support/fake-sync-server.ts';
import { readMeta } from './local-db.ts';
import {
  createTestDevice,
  seededIds,
  TEST_USER_ID,
  TestClock,
  type TestDevice,
} from '../../test-support/test-device.ts';

const devices: TestDevice[] = [];
afterEach(async () => {
  for (const device of devices.splice(0)) await device.close();
});

async function setup(seed = 1) {
  const clock = new TestClock();
  // The server's clock runs apart from the device's, so a row stamped by the server is told apart.
  const server = createFakeSyncServer({ userId: TEST_USER_ID, now: () => clock.t + 7_000 });
  const id = seededIds(seededRandom(seed), clock.now);
  const device = await createTestDevice(server, { now: clock.now });
  devices.push(device);
  return { clock, server, id, device, db: device.db, m: device.mutators };
}

async function sameAsServer(device: TestDevice, server: FakeSyncServer) {
  const local = await device.snapshot();
  for (const table of server.tables) expect(local[table]).toEqual(server.liveRows(table));
}

const pulls = (device: TestDevice) =>
  device.net.log.filter((e) => e.route === 'pull').map((e) => e.request as PullRequest);

describe('sync client: rows it created are not pulled back (CL14)', () => {
  it('[CL14] a new entry acknowledged as created is confirmed with the server’s version and time, and no pull brings it', async () => {
    const { server, id, device, db, m } = await setup();
    const moods = [id(), id(), id()];
    for (const moodId of moods) await m.upsertMood({ id: moodId, recordedAt: 1, fields: { mood: 4 } });
    await m.logCopingTool({ id: id(), tool: 'grounding', startedAt: 2, completed: true });

    const outcome = await device.client.syncOnce();
    expect(outcome).toMatchObject({ kind: 'ok', pushed: 4, pulled: 0 });
    expect(pulls(device)[0]?.skip).toEqual([[1, 4]]);
    expect(await db.bases.count()).toBe(0);
    const row = await db.mood_entries.get(moods[0]!);
    expect(row).toMatchObject({ version: 1 });
    const onServer = server.liveRows('mood_entries').find((r) => r.id === moods[0]) as MoodRow | undefined;
    expect(row?.updatedAt).toBe(onServer?.updatedAt);
    expect(row?.updatedAt).not.toBe(1_767_225_600_000); // the device's clock: the server's time replaced it
    await sameAsServer(device, server);
    // The cursor passed them: nothing is left to skip.
    expect((await readMeta(db, ['skipVersions'])).skipVersions).toEqual([]);
  });

  it('[CL14] an entry whose acknowledgement was lost comes back by pull (a dup names no version)', async () => {
    const { server, id, device, m } = await setup(2);
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 2 } });
    device.net.inject('drop-response');
    expect((await device.client.syncOnce()).kind).not.toBe('ok');
    const outcome = await device.client.syncOnce();
    expect(outcome).toMatchObject({ kind: 'ok', pulled: 1 });
    expect(pulls(device).at(-1)?.skip).toBeUndefined();
    await sameAsServer(device, server);
  });

  it('[CL14] an entry created and deleted before the device ever pulled stays deleted', async () => {
    const { server, id, device, m } = await setup(3);
    const gone = id();
    await m.upsertMood({ id: gone, recordedAt: 1, fields: { mood: 2 } });
    await m.deleteMood({ id: gone });
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 3 } });
    // One push: the create is confirmed at once, then the delete is acknowledged. The first pull (cursor 0) must
    // bring the tombstone, or the confirmed create would come back when the pull settles.
    expect((await device.client.syncOnce()).kind).toBe('ok');
    expect(await device.db.mood_entries.get(gone)).toBeUndefined();
    await sameAsServer(device, server);
  });

  it('[CL14] an edit on top of a confirmed create is kept, and the server’s merge arrives by pull', async () => {
    const { server, id, device, m } = await setup(4);
    const moodId = id();
    await m.upsertMood({ id: moodId, recordedAt: 1, fields: { mood: 2 } });
    await m.upsertMood({ id: moodId, recordedAt: 1, fields: { note: 'later' } });
    expect((await device.client.syncOnce()).kind).toBe('ok');
    expect(await device.db.mood_entries.get(moodId)).toMatchObject({ mood: 2, note: 'later', version: 2 });
    await sameAsServer(device, server);
  });

  it('[CL14] a full push of 500 new entries is confirmed in one transaction (the rows are made before it)', async () => {
    const { server, id, device, db, m } = await setup(5);
    for (let i = 0; i < 500; i += 1) await m.upsertMood({ id: id(), recordedAt: i, fields: { mood: 3 } });
    expect(await device.client.syncOnce()).toMatchObject({ kind: 'ok', pushed: 500, pulled: 0 });
    expect(await db.bases.count()).toBe(0);
    await sameAsServer(device, server);
  });
});
