import { seededRandom } from '@vitalwatch/schema/seeded-random';
import 'fake-indexeddb/auto';
import type { IncidentEventRow, IncidentRow } from '@vitalwatch/schema/protocol/rows';
import { ROW_SCHEMAS } from '@vitalwatch/schema/protocol/synced-tables';
import { SamplesAppendArgsV2 } from '@vitalwatch/schema/protocol/mutators';
import { sampleIds } from '@vitalwatch/schema/protocol/sample-ids';
import { describe, expect, it } from 'vitest';
import { bindUser, openLocalDb, readMeta, type LocalDb, type MetaRow } from './local-db.ts';
import { createMutators } from './mutators.ts';
import { seededIds, TEST_USER_ID, TestClock } from '../../test-support/test-device.ts';

let dbCount = 0;

async function setup() {
  const db = openLocalDb({ name: `mutators-test-${++dbCount}` });
  await bindUser(db, TEST_USER_ID);
  const clock = new TestClock();
  const id = seededIds(seededRandom(dbCount), clock.now);
  const lanes: string[] = [];
  const mutators = createMutators({ db, now: clock.now, onCommitted: (lane) => lanes.push(lane) });
  return { db, clock, id, lanes, mutators };
}

async function everything(db: LocalDb) {
  return {
    incidents: await db.emergency_incidents.toArray(),
    outbox: await db.outbox.toArray(),
    bases: await db.bases.toArray(),
    meta: await db.meta.toArray(),
  };
}

describe('mutators', () => {
  it('[CL1] each write applies the row locally and queues it with its lane’s next seq, in one commit', async () => {
    const { db, id, lanes, mutators } = await setup();
    const incidentId = id();
    const first = await mutators.triggerIncident({
      id: incidentId,
      code: 'AB12',
      trigger: 'panic_button',
      triggeredAt: 1_000,
      location: { lat: 51.5, lng: -0.12, at: 1_000, accuracyM: 8 },
    });
    const mood = await mutators.upsertMood({
      id: id(),
      recordedAt: 2_000,
      fields: { mood: 2, note: 'tired' },
    });
    const second = await mutators.recordIncidentEvent({
      id: id(),
      incidentId,
      type: 'acknowledged',
      at: 3_000,
    });

    expect([first.lane, first.seq, mood.lane, mood.seq, second.lane, second.seq]).toEqual([
      'critical',
      1,
      'user',
      1,
      'critical',
      2,
    ]);
    expect(lanes).toEqual(['critical', 'user', 'critical']);
    const incident = await db.emergency_incidents.get(incidentId);
    expect(ROW_SCHEMAS.emergency_incidents.safeParse(incident).success).toBe(true);
    expect(incident).toMatchObject<Partial<IncidentRow>>({
      version: 0,
      status: 'acknowledged',
      acknowledgedAt: 3_000,
      latitude: 51.5,
      accuracyMeters: 8,
    });
    const event = (await db.incident_events.toArray())[0];
    expect(ROW_SCHEMAS.incident_events.safeParse(event).success).toBe(true);
    expect(event).toMatchObject<Partial<IncidentEventRow>>({
      type: 'acknowledged',
      outcome: 'applied',
      version: 0,
    });

    const outbox = await db.outbox.orderBy('key').toArray();
    expect(outbox.map((e) => [e.lane, e.seq, e.name, e.attempts, e.lastError])).toEqual([
      ['critical', 1, 'incident.trigger@1', 0, null],
      ['user', 1, 'mood.upsert@1', 0, null],
      ['critical', 2, 'incident.event@1', 0, null],
    ]);
    // HLCs increase in write order and use the client id as node.
    const { clientId } = await readMeta(db, ['clientId']);
    expect(outbox.every((e) => e.hlc.endsWith(`-${clientId}`))).toBe(true);
    expect([...outbox.map((e) => e.hlc)].sort()).toEqual(outbox.map((e) => e.hlc));
    // The server state of each touched row before the first local change is kept: none existed.
    expect((await db.bases.toArray()).map((b) => [b.ref.split('/')[0], b.row])).toEqual([
      ['emergency_incidents', null],
      ['incident_events', null],
      ['mood_entries', null],
    ]);
    await db.delete();
  });

  it('[CL1] bad args throw and write nothing', async () => {
    const { db, id, mutators } = await setup();
    const before = await everything(db);
    await expect(
      mutators.triggerIncident({ id: id(), code: 'no', trigger: 'panic_button', triggeredAt: 1 }),
    ).rejects.toThrow();
    await expect(
      mutators.upsertMood({ id: 'not-a-uuid', recordedAt: 1, fields: { mood: 9 } }),
    ).rejects.toThrow();
    expect(await everything(db)).toEqual(before);
    await db.delete();
  });

  // A crash between the statements of a transaction is a transaction that never commits: an exception thrown
  // inside it (here from a Dexie hook at the chosen point) aborts it exactly as a killed tab would.
  it.each([
    [
      'after the row, before the outbox entry',
      (db: LocalDb) =>
        db.outbox.hook('creating', () => {
          throw new Error('killed');
        }),
    ],
    [
      'after the outbox entry, before the seq is advanced',
      (db: LocalDb) =>
        db.meta.hook('creating', (key: string) => {
          if (key === 'nextSeq:critical') throw new Error('killed');
        }),
    ],
  ])('the outbox entry and the local row commit together: killed %s leaves neither', async (_when, kill) => {
    const { db, id, mutators } = await setup();
    const before = await everything(db);
    kill(db);
    await expect(
      mutators.triggerIncident({ id: id(), code: 'ZX90', trigger: 'panic_button', triggeredAt: 1 }),
    ).rejects.toThrow(/killed/);
    expect(await everything(db)).toEqual(before);
    await db.delete();
  });

  it('[CF13] samples are kept locally until acknowledged, and queued columnar on the bulk lane under one batch id', async () => {
    const { db, clock, mutators } = await setup();
    const queued = await mutators.appendSamples({ kind: 1, t0: 10_000, dt: [0, 16, 17], v: [72, 73, 75] });
    expect(queued).toMatchObject({ lane: 'bulk', seq: 1 });
    const [entry] = await db.outbox.toArray();
    expect(entry).toMatchObject({ name: 'samples.append@2', refs: [] });
    const args = SamplesAppendArgsV2.parse(entry?.args);
    expect(Number.parseInt(args.id.replaceAll('-', '').slice(0, 12), 16)).toBe(clock.now());
    // Stored under the ids the server derives, so the acknowledgement can delete them.
    const stored = await db.samples.orderBy('[kind+t]').toArray();
    expect(stored.map((s) => [s.id, s.t, s.v])).toEqual([
      [sampleIds(args.id, 10_000, [0, 16, 17])[0], 10_000, 72],
      [sampleIds(args.id, 10_000, [0, 16, 17])[1], 10_016, 73],
      [sampleIds(args.id, 10_000, [0, 16, 17])[2], 10_033, 75],
    ]);
    // A second batch gets its own batch id.
    await mutators.appendSamples({ kind: 1, t0: 10_050, dt: [0], v: [76] });
    const ids = (await db.outbox.toArray()).map((e) => SamplesAppendArgsV2.parse(e.args).id);
    expect(new Set(ids).size).toBe(2);
    await db.delete();
  });

  it('a samples.append@1 entry (older apps) still keeps its samples under their own ids', async () => {
    const { db, id, mutators } = await setup();
    const ids = [id(), id()];
    await mutators.mutate('samples.append@1', { kind: 2, t0: 5_000, ids, dt: [0, 10], v: [1, 2] });
    expect((await db.samples.toArray()).map((s) => [s.id, s.t])).toEqual([
      [ids[0], 5_000],
      [ids[1], 5_010],
    ]);
    await db.delete();
  });

  it('settings need no pulled row: the server defaults are the base of the first local change', async () => {
    const { db, mutators } = await setup();
    await mutators.updateSettings({ fields: { sosCountdownSeconds: 10 } });
    expect(await db.user_settings.get(TEST_USER_ID)).toMatchObject({
      id: TEST_USER_ID,
      version: 0,
      sosCountdownSeconds: 10,
      escalateTier2AfterSeconds: 120,
    });
    expect(ROW_SCHEMAS.user_settings.safeParse(await db.user_settings.get(TEST_USER_ID)).success).toBe(true);
    await db.delete();
  });

  it('incident.trigger commits locally fast (prints the median of 100 on fake-indexeddb)', async () => {
    const { db, id, mutators } = await setup();
    // A realistic backlog: a day of queued samples and some moods.
    for (let i = 0; i < 20; i += 1) {
      await mutators.appendSamples({
        kind: 1,
        t0: i * 500_000,
        dt: Array.from({ length: 500 }, () => 1_000),
        v: Array.from({ length: 500 }, () => 70),
      });
    }
    const times: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      const start = performance.now();
      await mutators.triggerIncident({
        id: id(),
        code: `T${String(i).padStart(3, '0')}`,
        trigger: 'panic_button',
        triggeredAt: i,
      });
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const median = ((times[49] ?? 0) + (times[50] ?? 0)) / 2;
    const p95 = times[94] ?? 0;
    console.log(
      `incident.trigger local commit on fake-indexeddb behind 10,000 queued samples: median ${median.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms (n=100)`,
    );
    expect(await db.outbox.where('lane').equals('critical').count()).toBe(100);
    const meta: MetaRow | undefined = await db.meta.get('nextSeq:critical');
    expect(meta?.value).toBe(101);
    await db.delete();
  });
});
