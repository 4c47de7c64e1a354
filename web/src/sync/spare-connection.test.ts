import 'fake-indexeddb/auto';
import { seededRandom } from '@vitalwatch/schema/seeded-random';
import { afterEach, expect, it } from 'vitest';
import { createFakeSyncServer } from '../../test-support/fake-sync-server.ts';
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

it('[CL15] pushes of the user and bulk lanes open a spare connection at most every 30 s; critical pushes and pulls never', async () => {
  const clock = new TestClock();
  const server = createFakeSyncServer({ userId: TEST_USER_ID, now: clock.now });
  const id = seededIds(seededRandom(7), clock.now);
  const device = await createTestDevice(server, { now: clock.now });
  devices.push(device);
  let warmed = 0;
  // The memory transport has no connections; give it the optional hook the HTTP transport implements.
  Object.assign(device.net, { warm: async () => void (warmed += 1) });

  const m = device.mutators;
  await m.triggerIncident({ id: id(), code: 'AB12', trigger: 'panic_button', triggeredAt: 1 });
  expect((await device.client.syncOnce()).kind).toBe('ok');
  expect(warmed).toBe(0);

  await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 3 } });
  await m.appendSamples({ kind: 1, t0: 1, dt: [0, 1_000], v: [70, 71] });
  expect((await device.client.syncOnce()).kind).toBe('ok');
  expect(warmed).toBe(1);

  clock.advance(10_000);
  await m.upsertMood({ id: id(), recordedAt: 2, fields: { mood: 3 } });
  expect((await device.client.syncOnce()).kind).toBe('ok');
  expect(warmed).toBe(1);

  clock.advance(30_000);
  await m.upsertMood({ id: id(), recordedAt: 3, fields: { mood: 3 } });
  expect((await device.client.syncOnce()).kind).toBe('ok');
  expect(warmed).toBe(2);
});
