import { seededRandom } from '@vitalwatch/schema/seeded-random';
import 'fake-indexeddb/auto';
import type { PushRequest } from '@vitalwatch/schema/protocol/push-request';
import type { ContactRow, MoodRow } from '@vitalwatch/schema/protocol/rows';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeSyncServer, type FakeSyncServerOptions } from '../../test-support/fake-sync-server.ts';
import { readMeta } from './local-db.ts';
import type { Mutators } from './mutators.ts';
import { createSyncClient, runAsLeader, type LockManagerLike, type SyncClientDeps } from './sync-client.ts';
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

async function setup(
  options: {
    manual?: boolean;
    server?: Partial<FakeSyncServerOptions>;
    client?: Partial<Omit<SyncClientDeps, 'db' | 'transport'>>;
    serverSkewMs?: number;
  } = {},
) {
  const clock = new TestClock();
  const server = createFakeSyncServer({
    userId: TEST_USER_ID,
    now: () => clock.t + (options.serverSkewMs ?? 0),
    ...options.server,
  });
  const id = seededIds(seededRandom(devices.length + 1), clock.now);
  const device = await createTestDevice(server, {
    now: clock.now,
    manual: options.manual ?? false,
    client: options.client ?? {},
  });
  devices.push(device);
  return { clock, server, id, device, db: device.db, m: device.mutators, net: device.net };
}

/**
 * `entries` samples.append mutations of `perEntry` heart-rate samples each. The push-sizing tests want big entries
 * (~24 KB of JSON for 500 samples), so these are `samples.append@1` with an id per sample, as older apps left them
 * in the outbox; today's `appendSamples` (`@2`, one id per batch) makes ~4 KB of the same samples.
 */
async function queueSamples(m: Mutators, id: () => string, entries: number, perEntry: number) {
  for (let i = 0; i < entries; i += 1) {
    const ids = Array.from({ length: perEntry }, () => id());
    const dt = ids.map(() => 1_000);
    await m.mutate('samples.append@1', { kind: 1, t0: i * 500_000, ids, dt, v: ids.map(() => 70) });
  }
}

/**
 * A round uploading `entries` sample entries of 500, and an incident triggered while its first bulk push waits:
 * returns once the incident's own push waits too (CL12).
 */
async function incidentBesideBulkPush(entries: number) {
  const env = await setup({ manual: true });
  const { id, device, m, net } = env;
  await queueSamples(m, id, entries, 500);
  const round = device.client.syncOnce();
  await net.requestArrived();
  expect(pushes(net.log).map((p) => p.lane)).toEqual(['bulk']);
  await m.triggerIncident({ id: id(), code: 'SOS1', trigger: 'fall_detected', triggeredAt: 1 });
  // Nothing was answered yet: the incident does not wait for the bulk push.
  await net.requestArrived(2);
  expect(pushes(net.log).map((p) => p.lane)).toEqual(['bulk', 'critical']);
  return { ...env, round };
}

function pushes(log: readonly { route: string; request: unknown }[]) {
  return log.filter((l) => l.route === 'push').map((l) => l.request as PushRequest);
}

const contact = (id: string, phoneE164: string): ContactRow => ({
  id,
  version: 0,
  name: 'Sam',
  phoneE164,
  relationship: null,
  tier: 1,
  notifyBySms: true,
  shareLocation: true,
  notes: null,
  hlc: null,
  updatedAt: 1,
});

const mood = (id: string, fields: Partial<MoodRow> = {}): MoodRow => ({
  id,
  version: 0,
  recordedAt: 1,
  mood: 3,
  energy: null,
  anxiety: null,
  sleepHours: null,
  emotions: [],
  note: null,
  hlc: null,
  updatedAt: 1,
  ...fields,
});

describe('sync client: push', () => {
  it('a local write reaches the server, leaves the outbox, and comes back with its server version', async () => {
    const { server, id, device, db, m } = await setup();
    const incidentId = id();
    await m.triggerIncident({ id: incidentId, code: 'AB12', trigger: 'panic_button', triggeredAt: 5 });
    expect(await device.client.syncOnce()).toEqual({ kind: 'ok', pushed: 1, pulled: 1, stuckLanes: [] });
    expect(server.ledger).toMatchObject([
      { lane: 'critical', seq: 1, name: 'incident.trigger@1', status: 'ok' },
    ]);
    expect(await db.outbox.count()).toBe(0);
    expect(await db.bases.count()).toBe(0);
    expect((await db.emergency_incidents.get(incidentId))?.version).toBe(server.version);
    expect(await readMeta(db, ['lastAckedSeq:critical', 'nextSeq:critical', 'cursor'])).toEqual({
      'lastAckedSeq:critical': 1,
      'nextSeq:critical': 2,
      cursor: server.version,
    });
  });

  it('[CL2] the critical lane goes first and alone, ahead of a 10,000-sample backlog', async () => {
    const { server, id, device, db, m, net } = await setup();
    for (let i = 0; i < 20; i += 1) {
      await m.appendSamples({
        kind: 1,
        t0: i * 500_000,
        dt: Array.from({ length: 500 }, () => 1_000),
        v: Array.from({ length: 500 }, () => 70),
      });
    }
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 2 } });
    await m.triggerIncident({ id: id(), code: 'SOS1', trigger: 'panic_button', triggeredAt: 1 });

    expect((await device.client.syncOnce()).kind).toBe('ok');
    const sent = pushes(net.log);
    expect(sent[0]).toMatchObject({ lane: 'critical', mutations: [{ seq: 1, name: 'incident.trigger@1' }] });
    expect(sent[0]?.mutations).toHaveLength(1);
    expect(sent[1]?.lane).toBe('user');
    expect(sent.slice(2).every((p) => p.lane === 'bulk')).toBe(true);
    // Batches stay within the server's limits: ≤ 1,000 entries and about 512 KiB of JSON each.
    expect(sent.every((p) => p.mutations.length <= 1_000 && JSON.stringify(p).length < 520 * 1024)).toBe(
      true,
    );
    expect(server.samples.size).toBe(10_000);
    expect(await db.samples.count()).toBe(0);
    expect(await db.outbox.count()).toBe(0);
  });

  it('[CL12] a critical mutation written while a bulk push is in flight goes out at once on its own request', async () => {
    const { server, db, net, round } = await incidentBesideBulkPush(4);
    expect(pushes(net.log)[1]?.mutations.map((mu) => mu.name)).toEqual(['incident.trigger@1']);
    await net.deliver(1);
    expect(server.ledger.map((l) => l.name)).toEqual(['incident.trigger@1']);
    expect((await net.run(round)).kind).toBe('ok');
    expect(server.ledger.filter((l) => l.lane === 'critical')).toHaveLength(1);
    expect(server.samples.size).toBe(2_000);
    expect(await db.outbox.count()).toBe(0);
  }, 10_000);

  it('[CL12] the critical lane is never pushed twice at once: a second incident goes when the first is answered', async () => {
    const { server, id, db, m, net, round } = await incidentBesideBulkPush(2);
    await m.triggerIncident({ id: id(), code: 'SOS4', trigger: 'panic_button', triggeredAt: 2 });
    for (let i = 0; i < 5; i += 1) await db.outbox.count(); // time for a second push, were one to start
    expect(net.waiting).toBe(2);
    await net.deliver(1);
    await net.requestArrived(2);
    expect(pushes(net.log).map((p) => [p.lane, p.mutations.map((mu) => mu.seq)])).toEqual([
      ['bulk', [1]],
      ['critical', [1]],
      ['critical', [2]],
    ]);
    expect((await net.run(round)).kind).toBe('ok');
    expect(server.ledger.filter((l) => l.lane === 'critical').map((l) => l.seq)).toEqual([1, 2]);
    expect(await db.outbox.count()).toBe(0);
  }, 10_000);

  it('[CL12] an acknowledgement that arrives while a pull page is in flight is applied after that page, so the page cannot undo the incident', async () => {
    const { server, id, device, db, m, net } = await setup({ manual: true });
    // Pull answers are held until `release`: the page's snapshot is older than the push's commit, but the page
    // reaches the client after the push's acknowledgement.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const client = createSyncClient({
      db,
      transport: {
        push: (request, token) => net.push(request, token),
        pull: async (request, token) => {
          const res = await net.pull(request, token);
          await held;
          return res;
        },
      },
      now: () => 1,
      getAccessToken: async () => server.issueToken(),
      refreshAccessToken: async () => null,
    });
    const round = client.syncOnce();
    await net.requestArrived();
    const incidentId = id();
    await m.triggerIncident({ id: incidentId, code: 'SOS5', trigger: 'panic_button', triggeredAt: 1 });
    await net.requestArrived(2);
    expect(net.log.map((l) => l.route)).toEqual(['pull', 'push']);
    await net.deliver(0); // the page is computed without the incident, and held
    await net.deliver(0); // the incident commits; its answer reaches the client first
    for (let i = 0; i < 5; i += 1) await db.outbox.count();
    release();
    expect(await round).toMatchObject({ kind: 'ok', pushed: 1 });
    expect(server.ledger.map((l) => l.name)).toEqual(['incident.trigger@1']);
    expect(await db.outbox.count()).toBe(0);
    // Still on screen, awaiting the pull that confirms it.
    expect(await db.emergency_incidents.get(incidentId)).toMatchObject({ id: incidentId, code: 'SOS5' });
    expect(await db.bases.get(`emergency_incidents/${incidentId}`)).toMatchObject({ unconfirmed: true });
    expect((await net.run(device.client.syncOnce())).kind).toBe('ok');
    expect((await db.emergency_incidents.get(incidentId))?.version).toBe(server.version);
    expect(await db.bases.count()).toBe(0);
  }, 10_000);

  it('[CL12] a critical push that fails beside a bulk push ends the round as its own failure would; nothing is dropped', async () => {
    const { server, db, net, round } = await incidentBesideBulkPush(1);
    net.inject({ status: 503, body: { error_code: 'unavailable', message: 'busy' }, retryAfter: '7' });
    await net.deliver(1);
    await net.deliver(0);
    expect(await net.run(round)).toEqual({ kind: 'retry-later', status: 503, retryAfterMs: 7_000 });
    expect(server.samples.size).toBe(500);
    expect((await db.outbox.toArray()).map((e) => [e.lane, e.attempts])).toEqual([['critical', 1]]);
  }, 10_000);

  it('[CL13] bulk pushes are sized by their time on the link: one entry at a time on a slow link, up to the byte limit on a fast one', async () => {
    /** Entries per push when each request takes 300 ms plus its JSON at `bytesPerMs`. */
    async function bulkPushesOver(bytesPerMs: number) {
      const { clock, server, id, db, m, net } = await setup();
      const travel = (message: unknown) =>
        clock.advance(Math.round(300 + JSON.stringify(message).length / bytesPerMs));
      const client = createSyncClient({
        db,
        transport: {
          push: async (request, token) => (travel(request), net.push(request, token)),
          pull: async (request, token) => (travel(request), net.pull(request, token)),
        },
        now: clock.now,
        getAccessToken: async () => server.issueToken(),
        refreshAccessToken: async () => null,
      });
      expect((await client.syncOnce()).kind).toBe('ok'); // an idle round: its pull times a round trip
      await queueSamples(m, id, 8, 500); // ~24 KB of JSON each
      expect((await client.syncOnce()).kind).toBe('ok');
      expect(server.samples.size).toBe(4_000);
      return pushes(net.log).map((p) => p.mutations.length);
    }
    // ~400 kbit/s of JSON: one entry is already more than 100 ms on the link.
    expect(await bulkPushesOver(50)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    // ~80 Mbit/s: the first push (16 KiB before anything was measured) shows the link is fast, the rest go
    // together under the 512 KiB limit.
    expect(await bulkPushesOver(10_000)).toEqual([1, 7]);
  });

  it('[CL9] a response lost after the server committed is acknowledged as dup on retry, which clears the outbox', async () => {
    const { server, id, device, db, m, net } = await setup();
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 4 } });
    net.inject('drop-response');
    expect((await device.client.syncOnce()).kind).toBe('offline');
    expect(server.ledger).toHaveLength(1);
    expect(await db.outbox.count()).toBe(1);

    expect((await device.client.syncOnce()).kind).toBe('ok');
    const replies = net.log.filter((l) => l.route === 'push');
    expect(replies).toHaveLength(2);
    expect(await db.outbox.count()).toBe(0);
    expect(server.ledger).toHaveLength(1);
  });

  it('[CL16] seqs at or below the server’s lastSeq that a push did not carry are sent next, and their dup tells how they ended', async () => {
    const { server, id, device, db, m, net } = await setup({
      server: {
        reject: ({ args }) =>
          (args as { fields?: { mood?: number } }).fields?.mood === 5
            ? { code: 'forbidden', message: 'Not allowed.' }
            : null,
      },
    });
    const refused = id();
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 4 } });
    await m.upsertMood({ id: refused, recordedAt: 2, fields: { mood: 5 } });
    net.inject('delay');
    expect((await device.client.syncOnce()).kind).toBe('offline');
    await net.deliverDelayed(); // the stale copy of seqs 1–2 arrives after all: 1 applied, 2 rejected
    const clientId = (await readMeta(db, ['clientId'])).clientId ?? '';
    expect(server.lastSeq(clientId, 'user')).toBe(2);

    // Restarted with smaller batches: it sends seq 1, keeps seq 2 although lastSeq covers it, and sends it next.
    device.restart({ batchSize: 1 });
    expect((await device.client.syncOnce()).kind).toBe('ok');
    expect(pushes(device.net.log).map((p) => p.mutations.map((mu) => mu.seq))).toEqual([[1], [2]]);
    expect(await db.outbox.count()).toBe(0);
    expect(server.ledger).toHaveLength(2);
    // The rejection whose answer was lost reached the device, and its row is gone (CL3).
    expect(await db.rejections.toArray()).toMatchObject([
      { seq: 2, code: 'forbidden', message: 'Not allowed.' },
    ]);
    expect(await db.mood_entries.get(refused)).toBeUndefined();
  });

  it('[CL3] a rejected mutation leaves the outbox for `rejections` with the server’s message, and its local effect is undone', async () => {
    const { server, id, device, db, m } = await setup();
    const contactId = id();
    await server.putRow('emergency_contacts', contact(contactId, '+447700900001'));
    await device.client.syncOnce();
    // Another device changes the number; this one, not having seen it, changes it too.
    await server.putRow('emergency_contacts', { ...contact(contactId, '+447700900002'), name: 'Sam B' });
    await m.upsertContact({
      id: contactId,
      fields: {},
      phoneE164: '+447700900003',
      expectedPhoneE164: '+447700900001',
    });
    expect((await db.emergency_contacts.get(contactId))?.phoneE164).toBe('+447700900003');

    expect((await device.client.syncOnce()).kind).toBe('ok');
    expect(await db.outbox.count()).toBe(0);
    expect(await db.rejections.toArray()).toMatchObject([
      {
        lane: 'user',
        seq: 1,
        name: 'contact.upsert@1',
        code: 'phone_conflict',
        message: expect.stringMatching(/another device/),
      },
    ]);
    // The server's value, never the refused one.
    expect(await db.emergency_contacts.get(contactId)).toMatchObject({
      phoneE164: '+447700900002',
      name: 'Sam B',
    });
    expect(await db.bases.count()).toBe(0);
  });

  it('[CL3] a rejected edit is undone even when the server never sends the row again', async () => {
    const { id, device, db, m, server } = await setup({
      server: {
        reject: ({ name }) => (name === 'mood.upsert@1' ? { code: 'forbidden', message: 'no' } : null),
      },
    });
    const moodId = id();
    await server.putRow('mood_entries', mood(moodId, { note: 'server' }));
    await device.client.syncOnce();
    await m.upsertMood({ id: moodId, recordedAt: 1, fields: { note: 'mine' } });
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 1 } }); // a new row, refused too
    expect((await device.client.syncOnce()).kind).toBe('ok');
    expect((await db.mood_entries.toArray()).map((r) => [r.id, r.note])).toEqual([[moodId, 'server']]);
    expect(await db.rejections.count()).toBe(2);
  });

  it('[CL4] 401 → the token is refreshed and the push retried once, with the outbox intact', async () => {
    const { server, id, device, db, m, net } = await setup();
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 3 } });
    server.expireTokens();
    expect((await device.client.syncOnce()).kind).toBe('ok');
    expect(device.refreshes).toBe(1);
    expect(net.log.slice(0, 2).map((l) => [l.route, l.status, l.token === net.log[0]?.token])).toEqual([
      ['push', 401, true],
      ['push', 200, false],
    ]);
    expect(await db.outbox.count()).toBe(0);
  });

  it('[CL4] 401 and no new token → unauthorized, and nothing is dropped', async () => {
    const { server, id, device, db, m } = await setup();
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 3 } });
    server.expireTokens();
    device.canRefresh = false;
    expect(await device.client.syncOnce()).toEqual({ kind: 'unauthorized' });
    expect(await db.outbox.toArray()).toMatchObject([{ seq: 1, attempts: 1, lastError: 'unauthorized' }]);
    expect(await db.mood_entries.count()).toBe(1);
    expect(server.ledger).toHaveLength(0);
  });

  it('[CL9] a network failure keeps everything: outbox, local rows, cursor', async () => {
    const { id, device, db, m, net } = await setup();
    await m.triggerIncident({ id: id(), code: 'NET1', trigger: 'panic_button', triggeredAt: 1 });
    const rows = await db.emergency_incidents.toArray();
    net.inject('drop-request');
    expect(await device.client.syncOnce()).toMatchObject({ kind: 'offline' });
    expect(await db.outbox.toArray()).toMatchObject([
      { seq: 1, attempts: 1, lastError: expect.stringMatching(/offline/) },
    ]);
    expect(await db.emergency_incidents.toArray()).toEqual(rows);
    expect(await readMeta(db, ['cursor'])).toEqual({});
    expect((await device.client.syncOnce()).kind).toBe('ok');
    expect(await db.outbox.count()).toBe(0);
  });

  it('[CL9] 503 with Retry-After ends the round at once and reports the wait; nothing is dropped', async () => {
    const { id, device, db, m, net } = await setup();
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 3 } });
    net.inject({ status: 503, body: { error_code: 'busy', message: 'try later' }, retryAfter: '7' });
    expect(await device.client.syncOnce()).toEqual({ kind: 'retry-later', status: 503, retryAfterMs: 7_000 });
    expect(net.log).toHaveLength(1);
    expect(await db.outbox.count()).toBe(1);
  });

  it('[CL9] a server answer that does not parse changes nothing', async () => {
    const { id, device, db, m, net } = await setup();
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 3 } });
    net.inject({ status: 200, body: { results: 'all good' } });
    expect(await device.client.syncOnce()).toMatchObject({
      kind: 'failed',
      error: 'malformed push response',
    });
    expect(await db.outbox.count()).toBe(1);
  });

  it('[CL2] a batch the server refuses (4xx) sticks its lane only: the other lanes and the pull go on', async () => {
    const { id, device, db, m, net, server } = await setup();
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 3 } });
    await m.triggerIncident({ id: id(), code: 'LANE', trigger: 'panic_button', triggeredAt: 1 });
    net.inject({ status: 400, body: { error_code: 'invalid_body', message: 'no' } });
    expect(await device.client.syncOnce()).toMatchObject({ kind: 'ok', stuckLanes: ['critical'] });
    expect(server.ledger.map((l) => l.lane)).toEqual(['user']);
    expect(await db.outbox.toArray()).toMatchObject([
      { lane: 'critical', attempts: 1, lastError: 'invalid_body: no' },
    ]);
    expect(await device.client.syncOnce()).toMatchObject({ kind: 'ok', stuckLanes: [] });
  });

  it('[SE26] a batch refused as too large (413) is sent again in halves until the server takes it; nothing is dropped', async () => {
    const { id, device, db, m, net, server } = await setup();
    await queueSamples(m, id, 8, 10);
    net.inject({
      status: 413,
      body: { error_code: 'too_many_samples', message: 'at most 100,000 in one push' },
    });
    expect(await device.client.syncOnce()).toMatchObject({ kind: 'ok', stuckLanes: [] });
    expect(pushes(net.log).map((p) => p.mutations.length)).toEqual([8, 4, 4]);
    expect(await db.outbox.count()).toBe(0);
    expect(await db.samples.count()).toBe(0);
    expect(server.ledger.filter((l) => l.lane === 'bulk')).toHaveLength(8);
  });

  it('[SE26] a single entry refused as too large sticks its lane and stays in the outbox', async () => {
    const { id, device, db, m, net } = await setup();
    await queueSamples(m, id, 1, 10);
    net.inject({ status: 413, body: { error_code: 'too_many_samples', message: 'too many' } });
    expect(await device.client.syncOnce()).toMatchObject({ kind: 'ok', stuckLanes: ['bulk'] });
    expect(await db.outbox.toArray()).toMatchObject([{ lane: 'bulk', attempts: 1 }]);
  });

  it('[SE26] a daily quota (429) pauses the bulk lane until Retry-After; the SOS, the user lane and the pull go on, and the samples go later', async () => {
    const { id, clock, device, db, m, net, server } = await setup();
    await queueSamples(m, id, 2, 10);
    net.inject({
      status: 429,
      body: { error_code: 'daily_quota_exceeded', message: 'limit 1,000,000 per day' },
      retryAfter: '3600',
    });
    expect(await device.client.syncOnce()).toMatchObject({ kind: 'ok', stuckLanes: ['bulk'] });
    expect(net.log.map((l) => l.route)).toEqual(['push', 'pull']);
    expect(await db.outbox.where('lane').equals('bulk').count()).toBe(2);

    // Before Retry-After: an SOS and a mood go, the samples wait without a request.
    clock.advance(60_000);
    await m.triggerIncident({ id: id(), code: 'QUOTA', trigger: 'panic_button', triggeredAt: clock.t });
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 3 } });
    expect(await device.client.syncOnce()).toMatchObject({ kind: 'ok', stuckLanes: ['bulk'] });
    expect(pushes(net.log).map((p) => p.lane)).toEqual(['bulk', 'critical', 'user']);
    expect(await db.outbox.where('lane').equals('bulk').count()).toBe(2);

    clock.advance(3_600_000);
    expect(await device.client.syncOnce()).toMatchObject({ kind: 'ok', stuckLanes: [] });
    expect(await db.outbox.count()).toBe(0);
    expect(server.ledger.filter((l) => l.lane === 'bulk')).toHaveLength(2);
  });

  it('[CL9] 426 means update the app: the round stops and the outbox waits', async () => {
    const { id, device, db, m, net } = await setup();
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 3 } });
    net.inject({ status: 426, body: { error_code: 'update_needed', message: 'Update VitalWatch' } });
    expect(await device.client.syncOnce()).toEqual({
      kind: 'update-needed',
      message: 'update_needed: Update VitalWatch',
    });
    expect(await db.outbox.count()).toBe(1);
  });
});

describe('sync client: pull', () => {
  it('pulls pages until complete, and a fresh device gets every row', async () => {
    const { server, id, device, db, net } = await setup({ client: { pullLimit: 10 } });
    for (let i = 0; i < 25; i += 1) await server.putRow('mood_entries', mood(id(), { mood: (i % 5) + 1 }));
    expect(await device.client.syncOnce()).toMatchObject({ kind: 'ok', pulled: 25 });
    expect(net.log.map((l) => l.route)).toEqual(['pull', 'pull', 'pull']);
    expect(await db.mood_entries.count()).toBe(25);
    expect((await device.snapshot()).mood_entries).toEqual(server.liveRows('mood_entries'));
  });

  it('applies tombstones', async () => {
    const { server, id, device, db } = await setup();
    const moodId = id();
    await server.putRow('mood_entries', mood(moodId));
    await device.client.syncOnce();
    await server.deleteRow('mood_entries', moodId);
    await device.client.syncOnce();
    expect(await db.mood_entries.count()).toBe(0);
  });

  it('[CL5] a pull does not overwrite a row with pending mutations: the server’s row becomes its base, the edit stays on top', async () => {
    const { server, id, device, db, m, net } = await setup({ manual: true });
    const moodId = id();
    await server.putRow('mood_entries', mood(moodId, { note: 'first' }));
    await net.run(device.client.syncOnce());

    // The user edits while a pull is in flight; meanwhile another device changed the same entry.
    const round = device.client.syncOnce();
    await net.requestArrived();
    await m.upsertMood({ id: moodId, recordedAt: 1, fields: { note: 'mine' } });
    await server.putRow('mood_entries', mood(moodId, { note: 'theirs', energy: 2 }));
    await net.run(round);

    const row = await db.mood_entries.get(moodId);
    expect(row).toMatchObject({ note: 'mine', energy: 2, version: server.version });
    expect(await db.outbox.count()).toBe(1);
    expect((await db.bases.get(`mood_entries/${moodId}`))?.row).toMatchObject({ note: 'theirs' });

    // Next round: the edit is pushed, and the server's merge comes back.
    await net.run(device.client.syncOnce());
    expect(await db.mood_entries.get(moodId)).toMatchObject({ note: 'mine', energy: 2 });
    expect(await db.outbox.count()).toBe(0);
    expect(await db.bases.count()).toBe(0);
  });

  it('[CL6] a reset rebuilds the synced tables and keeps and re-applies the outbox', async () => {
    const { server, id, device, db, m, net } = await setup({ manual: true, client: { pullLimit: 2 } });
    const [keep, gone, edited] = [id(), id(), id()];
    for (const moodId of [keep, gone, edited]) await server.putRow('mood_entries', mood(moodId));
    await net.run(device.client.syncOnce());

    // Offline for long: the server deletes a row, changes one, and forgets its tombstones.
    await server.deleteRow('mood_entries', gone);
    await server.putRow('mood_entries', mood(edited, { energy: 5 }));
    for (let i = 0; i < 3; i += 1) await server.putRow('mood_entries', mood(id()));
    server.compact();

    const round = device.client.syncOnce();
    await net.requestArrived();
    const created = id();
    await m.upsertMood({ id: created, recordedAt: 1, fields: { mood: 1 } });
    await m.upsertMood({ id: edited, recordedAt: 1, fields: { note: 'mine' } });
    await net.run(round);

    expect(net.log.filter((l) => l.route === 'pull').length).toBeGreaterThan(2);
    expect(await db.outbox.count()).toBe(2);
    const rows = await db.mood_entries.toArray();
    expect(rows.map((r) => r.id).sort()).toEqual(
      [...server.liveRows('mood_entries').map((r) => r.id), created].sort(),
    );
    expect(rows.find((r) => r.id === gone)).toBeUndefined();
    expect(rows.find((r) => r.id === edited)).toMatchObject({ energy: 5, note: 'mine' });
    expect(rows.find((r) => r.id === keep)).toBeDefined();

    await net.run(device.client.syncOnce());
    expect(await device.snapshot()).toMatchObject({ mood_entries: server.liveRows('mood_entries') });
    expect(await db.outbox.count()).toBe(0);
  });

  it('[CL6] an interrupted reset starts again and ends in the same state', async () => {
    const { server, id, device, db, net } = await setup({ client: { pullLimit: 1 } });
    for (let i = 0; i < 4; i += 1) await server.putRow('mood_entries', mood(id()));
    await device.client.syncOnce();
    const cursor = (await readMeta(db, ['cursor'])).cursor;
    await server.deleteRow('mood_entries', server.liveRows('mood_entries')[0]?.id ?? '');
    server.compact();
    for (let i = 0; i < 4; i += 1) await server.putRow('mood_entries', mood(id()));
    const pulls = () => net.log.filter((l) => l.route === 'pull').length;
    const before = pulls();
    // Let two reset pages through, then cut the line.
    const originalPull = net.pull.bind(net);
    let served = 0;
    net.pull = (req, token) =>
      ++served > 2 ? Promise.reject(new Error('network down')) : originalPull(req, token);
    expect((await device.client.syncOnce()).kind).toBe('offline');
    expect(pulls()).toBe(before + 2);
    expect((await readMeta(db, ['cursor'])).cursor).toBe(cursor);
    net.pull = originalPull;
    expect((await device.client.syncOnce()).kind).toBe('ok');
    expect((await device.snapshot()).mood_entries).toEqual(server.liveRows('mood_entries'));
  });

  it('[CL6][PL11] a rebuild from cursor 0 cut short keeps the skipped versions: the next pull is a reset again', async () => {
    const { server, id, device, db, m, net } = await setup({ client: { pullLimit: 1 } });
    for (let i = 0; i < 3; i += 1) await server.putRow('mood_entries', mood(id()));
    const [kept, deleted] = [id(), id()];
    await m.upsertMood({ id: kept, recordedAt: 1, fields: { mood: 2 } });
    await m.upsertMood({ id: deleted, recordedAt: 1, fields: { mood: 3 } });
    const originalPull = net.pull.bind(net);
    let served = 0;
    let allowed = 0;
    net.pull = (req, token) =>
      ++served > allowed ? Promise.reject(new Error('network down')) : originalPull(req, token);
    // The push confirms both entries as created (PU12); the pull never gets through: cursor 0, two skipped versions.
    expect((await device.client.syncOnce()).kind).toBe('offline');
    expect((await readMeta(db, ['cursor'])).cursor ?? 0).toBe(0);
    expect((await readMeta(db, ['skipVersions'])).skipVersions).toHaveLength(1);

    // Another device deletes one, and its tombstone is purged before this device's next pull.
    await server.deleteRow('mood_entries', deleted);
    server.compact();
    for (let i = 0; i < 2; i += 1) await server.putRow('mood_entries', mood(id()));
    // The rebuild's first page (everything up to the purge) arrives, then the line drops.
    served = 0;
    allowed = 1;
    expect((await device.client.syncOnce()).kind).toBe('offline');
    expect(net.log.filter((l) => l.route === 'pull').at(-1)?.request).toMatchObject({ cursor: 0 });
    expect((await readMeta(db, ['skipVersions'])).skipVersions).toHaveLength(1);

    net.pull = originalPull;
    expect((await device.client.syncOnce()).kind).toBe('ok');
    expect(await db.mood_entries.get(deleted)).toBeUndefined();
    expect(await db.mood_entries.get(kept)).toBeDefined();
    expect((await device.snapshot()).mood_entries).toEqual(server.liveRows('mood_entries'));
  });

  it('[CL6] a reset page always starts the rebuild again: a row deleted between two reset pages is not kept', async () => {
    const { server, id, device, db, m, net } = await setup({ manual: true, client: { pullLimit: 1 } });
    const [doomed, other] = [id(), id()];
    await server.putRow('mood_entries', mood(doomed));
    await net.run(device.client.syncOnce());
    await server.putRow('mood_entries', mood(other));
    server.compact();
    await server.putRow('mood_entries', mood(id()));

    const round = device.client.syncOnce();
    await net.requestArrived();
    await m.deleteMood({ id: doomed }); // pending: the first reset page's copy only updates its base
    await net.deliver(); // reset page 1 (complete: false)
    await server.deleteRow('mood_entries', doomed);
    server.compact(); // the horizon passes the cursor page 1 returned: page 2 is a new reset
    await net.run(round);

    await net.run(device.client.syncOnce());
    expect(await db.mood_entries.get(doomed)).toBeUndefined();
    expect((await device.snapshot()).mood_entries).toEqual(server.liveRows('mood_entries'));
  });

  it('incident events: the local prediction shows at once, the server’s verdict replaces it', async () => {
    const { server, id, device, db, m } = await setup();
    const incidentId = id();
    await m.triggerIncident({ id: incidentId, code: 'EV01', trigger: 'panic_button', triggeredAt: 1 });
    await m.recordIncidentEvent({
      id: id(),
      incidentId,
      type: 'location',
      at: 2,
      location: { lat: 1, lng: 2, at: 2 },
    });
    await m.recordIncidentEvent({ id: id(), incidentId, type: 'cancelled', at: 3, duress: true });
    expect(await db.emergency_incidents.get(incidentId)).toMatchObject({
      status: 'cancelled',
      latitude: 1,
      resolvedAt: 3,
    });
    await device.client.syncOnce();
    expect(await db.emergency_incidents.get(incidentId)).toEqual(server.liveRows('emergency_incidents')[0]);
    expect(await db.incident_events.count()).toBe(2);
  });
});

describe('sync client: clock and leadership', () => {
  it.each([
    [11 * 60_000, true],
    [-11 * 60_000, true],
    [9 * 60_000, false],
  ])('a device clock off by %i ms: clockSkewWarning is %s', async (skew, warned) => {
    const { device, db } = await setup({ serverSkewMs: skew });
    await device.client.syncOnce();
    expect(device.client.status).toMatchObject({ clockOffsetMs: skew, clockSkewWarning: warned });
    expect(await readMeta(db, ['clockOffsetMs'])).toEqual({ clockOffsetMs: skew });
  });

  it('[CL10] concurrent syncOnce calls share one round', async () => {
    const { device, net } = await setup({ manual: true });
    const a = device.client.syncOnce();
    const b = device.client.syncOnce();
    expect(a).toBe(b);
    await net.run(a);
    expect(net.log).toHaveLength(1);
  });

  it('[CL10] runAsLeader holds the origin-wide lock "vitalwatch-sync" while the round runs, and runs directly without Web Locks', async () => {
    const held: string[] = [];
    const locks: LockManagerLike = {
      request: async (name, fn) => {
        held.push(`acquire ${name}`);
        try {
          return await fn();
        } finally {
          held.push(`release ${name}`);
        }
      },
    };
    expect(
      await runAsLeader(async () => {
        held.push('round');
        return 1;
      }, locks),
    ).toBe(1);
    expect(held).toEqual(['acquire vitalwatch-sync', 'round', 'release vitalwatch-sync']);
    expect(await runAsLeader(async () => 2, undefined)).toBe(2);
  });

  it('[CL4] a signed-out device does not call the server', async () => {
    const { device, net, db, id, m } = await setup();
    await m.upsertMood({ id: id(), recordedAt: 1, fields: { mood: 3 } });
    const client = createSyncClient({
      db,
      transport: net,
      now: () => 1,
      getAccessToken: async () => null,
      refreshAccessToken: async () => null,
    });
    expect(await client.syncOnce()).toEqual({ kind: 'unauthorized' });
    expect(net.log).toHaveLength(0);
    expect(device.refreshes).toBe(0);
  });
});
