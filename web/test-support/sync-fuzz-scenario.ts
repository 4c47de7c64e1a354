/**
 * The seeded fault scenario of the sync tests (issue #3 item 7, SPEC CL8), run against any server: the fake one
 * (sync-fuzz.test.ts, thousands of seeds) and the real one over HTTP on PGlite and Postgres
 * (integration/sync-fuzz-real-server.test.ts). Test kit: imported by tests only, never by the app.
 *
 * N devices of one user do random offline work through manual in-memory transports, while the network and the
 * server misbehave: requests lost, responses lost after the server committed, requests duplicated, stale copies
 * delivered late (reordered), the server restarting mid-batch, 503s, tokens expiring, and clients killed with
 * requests in flight. A critical write during a round sends its push beside the request in flight (CL12); such
 * concurrent requests are delivered in any order, and an answer may be held back past a later one's. Then the
 * network heals and every device syncs until quiet. Asserted after every step: each pending row is its base +
 * pending mutations, and an incident stays on the device that triggered it. At the end:
 * - every device's synced tables equal the server's live rows, with no pending outbox, bases or samples left;
 * - the server's ledger of applied mutations is a bijection with the mutations the devices created (zero lost,
 *   zero applied twice), and every sample created is stored exactly once;
 * - every mutation the server rejected is in some device's `rejections`, answers lost on the way or not (PU13, CL16).
 * Alert delivery runs after every step (`dispatch`), so devices pull ledger rows of open incidents and must drop
 * them on a cancel (AL29). A cancel is under duress when the scenario asks for it (`duress`) and its event id says
 * so, without drawing from the seed: the same seed run with and without duress does the same things, and
 * sync-fuzz.test.ts checks that the devices end exactly alike.
 *
 * Everything random comes from the seed (ids, choices, clock), and no step sleeps.
 */
import { seededRandom } from '@vitalwatch/schema/seeded-random';
import { INCIDENT_EVENT_TYPES, type MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { sampleIds } from '@vitalwatch/schema/protocol/sample-ids';
import { expect } from 'vitest';
import { bindMutation, type RowStore } from '../src/sync/apply-mutation.ts';
import { readMeta, splitRowRef, type RowByTable, type SyncedRow } from '../src/sync/local-db.ts';
import type { Fault } from './memory-transport.ts';
import type { QueuedMutation } from '../src/sync/mutators.ts';
import type { SyncOutcome } from '../src/sync/sync-client.ts';
import { createTestDevice, seededIds, TestClock, type TestDevice, type TestServer } from './test-device.ts';

/** What the scenario needs of a server besides reaching it. */
export interface FuzzServer extends TestServer {
  /** The user the devices sign in as. */
  readonly userId: string;
  /** Every access token issued so far stops working (they expire while a device is offline). */
  expireTokens(): void | Promise<void>;
  /** Forgets tombstones: a device whose cursor is older than now gets a reset. */
  compact(): void | Promise<void>;
  /** The user's live rows by synced table, each sorted by id: what every device must hold in the end. */
  liveRows(): Promise<Record<string, SyncedRow[]>>;
  /** `clientId/lane/seq` of each mutation the server applied or rejected, once for each time it did. */
  ledger(): Promise<readonly string[]>;
  /** Ids of the samples the server stores for the user. */
  storedSamples(): Promise<ReadonlySet<string>>;
  /** `clientId/lane/seq` of each mutation the server rejected. */
  rejections(): Promise<readonly string[]>;
  /** One round of alert delivery (ledger rows for the user's incidents); none when absent. */
  dispatch?(): Promise<void>;
  /** Called once the seed is over, passed or failed. */
  close?(): Promise<void>;
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T | undefined =>
  items[Math.floor(random() * items.length)];
const chance = (random: Random, p: number) => random() < p;
const int = (random: Random, lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

interface Sim {
  readonly random: Random;
  readonly clock: TestClock;
  readonly server: FuzzServer;
  readonly devices: TestDevice[];
  readonly newId: () => string;
  /** `clientId/lane/seq` of every mutation a device created. */
  readonly created: Set<string>;
  readonly createdSamples: Set<string>;
  readonly rounds: Map<TestDevice, Promise<SyncOutcome>>;
  /** Every id any device ever made (devices also edit rows they have not seen yet). */
  readonly known: { moods: string[]; contacts: string[]; incidents: string[] };
  /** The incidents each device triggered: never deleted, so once written they stay on that device. */
  readonly triggered: Map<TestDevice, string[]>;
  /** Cancels may be under duress (by their event id). */
  readonly duress: boolean;
}

/** Whether a cancel with this event id is under duress: from the id, so no draw from the seed decides it. */
function duressById(id: string): boolean {
  return Number.parseInt(id.at(-1) ?? '0', 16) % 2 === 0;
}

async function clientIdOf(device: TestDevice): Promise<string> {
  return (await readMeta(device.db, ['clientId'])).clientId ?? '';
}

/** `choice` in [0, 1) picks the kind of write; below 0.2 it is a critical one (an incident or its event). */
async function randomWrite(sim: Sim, device: TestDevice, choice: number): Promise<QueuedMutation> {
  const { random, clock, newId, known } = sim;
  const m = device.mutators;
  const at = clock.t;
  const localMoods = await device.db.mood_entries.toCollection().primaryKeys();
  const localContacts = await device.db.emergency_contacts.toArray();
  const localIncidents = await device.db.emergency_incidents.toCollection().primaryKeys();
  const phone = () => `+4477009${String(int(random, 0, 99_999)).padStart(5, '0')}`;

  if (choice < 0.1) {
    const id = newId();
    known.incidents.push(id);
    sim.triggered.set(device, [...(sim.triggered.get(device) ?? []), id]);
    const code = Array.from({ length: 6 }, () => 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'[int(random, 0, 30)]).join(
      '',
    );
    const location = chance(random, 0.5) ? { location: { lat: 51, lng: 0, at } } : {};
    return m.triggerIncident({ id, code, trigger: 'panic_button', triggeredAt: at, ...location });
  }
  if (choice < 0.2) {
    const incidentId = pick(random, chance(random, 0.8) ? localIncidents : known.incidents);
    if (incidentId !== undefined) {
      const type = pick(random, INCIDENT_EVENT_TYPES) ?? 'location';
      const location =
        type === 'location' ? { location: { lat: random() * 10, lng: random() * 10, at } } : {};
      const id = newId();
      const duress = type === 'cancelled' && sim.duress && duressById(id) ? { duress: true } : {};
      return m.recordIncidentEvent({ id, incidentId, type, at, ...location, ...duress });
    }
  }
  if (choice < 0.4) {
    const existing = pick(random, chance(random, 0.85) ? localMoods : known.moods);
    if (existing === undefined || chance(random, 0.3)) {
      const id = newId();
      known.moods.push(id);
      return m.upsertMood({
        id,
        recordedAt: at,
        fields: { mood: int(random, 1, 5), note: `n${int(random, 0, 9)}` },
      });
    }
    const fields: MutatorArgs<'mood.upsert@1'>['fields'] = {};
    if (chance(random, 0.5)) fields.energy = chance(random, 0.2) ? null : int(random, 1, 5);
    if (chance(random, 0.5)) fields.note = chance(random, 0.2) ? null : `edit ${int(random, 0, 99)}`;
    if (chance(random, 0.3)) fields.mood = int(random, 1, 5);
    if (chance(random, 0.2)) fields.emotions = ['calm', 'tired'].slice(0, int(random, 0, 2));
    return m.upsertMood({ id: existing, recordedAt: at, fields });
  }
  if (choice < 0.45) {
    const existing = pick(random, localMoods);
    if (existing !== undefined) return m.deleteMood({ id: existing });
  }
  if (choice < 0.6) {
    const existing = pick(random, localContacts);
    if (existing === undefined || chance(random, 0.25)) {
      const id = newId();
      known.contacts.push(id);
      return m.upsertContact({
        id,
        fields: { name: `C${int(random, 0, 99)}` },
        phoneE164: phone(),
        expectedPhoneE164: null,
      });
    }
    if (chance(random, 0.4)) {
      return m.upsertContact({
        id: existing.id,
        fields: {},
        phoneE164: phone(),
        expectedPhoneE164: existing.phoneE164,
      });
    }
    return m.upsertContact({
      id: existing.id,
      fields: chance(random, 0.5)
        ? { name: `N${int(random, 0, 99)}` }
        : { notes: `x${int(random, 0, 9)}`, tier: int(random, 1, 3) },
    });
  }
  if (choice < 0.65) {
    const existing = pick(random, localContacts);
    if (existing !== undefined)
      return m.deleteContact({ id: existing.id, expectedPhoneE164: existing.phoneE164 });
  }
  if (choice < 0.72) return m.updateSettings({ fields: { sosCountdownSeconds: int(random, 0, 10) } });
  if (choice < 0.8) {
    return m.logCopingTool({
      id: newId(),
      tool: 'box_breathing',
      startedAt: at,
      completed: chance(random, 0.5),
    });
  }
  // As appendSamples writes it, but with a seeded batch id so the run stays reproducible. One id is still drawn
  // per sample (the first is the batch's), as when samples carried their own ids, so pinned seeds replay.
  const [id = newId(), ...unused] = Array.from({ length: int(random, 1, 5) }, () => newId());
  const kind = int(random, 1, 7);
  const dt = [id, ...unused].map(() => int(random, 0, 20));
  const batch = { kind, t0: at, id, dt, v: dt.map(() => random() * 100) };
  for (const sampleId of sampleIds(batch.id, batch.t0, batch.dt)) sim.createdSamples.add(sampleId);
  return m.mutate('samples.append@2', batch);
}

function randomFault(random: Random): Fault | null {
  const r = random();
  if (r < 0.5) return null;
  if (r < 0.58) return 'drop-request';
  if (r < 0.68) return 'drop-response';
  if (r < 0.76) return 'duplicate';
  if (r < 0.84) return 'delay';
  if (r < 0.92) return { kind: 'server-crash', after: int(random, 0, 2) };
  return { status: 503, body: { error_code: 'unavailable', message: 'busy' }, retryAfter: '1' };
}

async function step(sim: Sim): Promise<void> {
  const { random, devices, rounds, server } = sim;
  const device = pick(random, devices);
  if (device === undefined) return;
  sim.clock.advance(int(random, 0, 5_000));
  const r = random();
  const startRound = () => {
    const existing = rounds.get(device);
    if (existing !== undefined) return existing;
    const round = device.client.syncOnce();
    rounds.set(device, round);
    void round.then(() => rounds.get(device) === round && rounds.delete(device));
    return round;
  };
  const { net } = device;
  /** One request reaches the server, or one held answer reaches the client. */
  const deliverOne = async () => {
    if (net.heldAnswers > 0 && (net.waiting === 0 || chance(random, 0.5))) {
      net.releaseAnswer(int(random, 0, net.heldAnswers - 1));
      return;
    }
    const fault = randomFault(random);
    if (fault !== null) net.inject(fault);
    // A critical push sent beside a bulk push or a pull page (CL12) may be handled before or after it, and its
    // answer may reach the client before or after that request's (a pull page older than the push's commit).
    const waiting = net.waiting;
    if (waiting === 1) await net.deliver(0);
    else await net.deliver(int(random, 0, waiting - 1), { holdAnswer: chance(random, 0.5) });
  };
  if (r < 0.3) {
    // While a request waits, often a critical write (2 in 3 an incident): its push goes out at once, beside that
    // request (CL12).
    const choice = net.waiting > 0 && chance(random, 0.7) ? random() * 0.15 : random();
    const queued = await randomWrite(sim, device, choice);
    sim.created.add(`${await clientIdOf(device)}/${queued.lane}/${queued.seq}`);
  } else if (r < 0.45) {
    void startRound(); // runs on as the test delivers its requests
  } else if (r < 0.7) {
    if (net.waiting > 0 || net.heldAnswers > 0) await deliverOne();
  } else if (r < 0.85) {
    // A whole round, every request of it exposed to faults.
    let done = false;
    const round = startRound().finally(() => (done = true));
    while (!done) {
      if (net.heldAnswers === 0) await Promise.race([net.requestArrived(), round]);
      if (net.waiting > 0 || net.heldAnswers > 0) await deliverOne();
    }
  } else if (r < 0.9) {
    await server.expireTokens();
  } else if (r < 0.95) {
    await device.net.deliverDelayed();
  } else {
    // Killed: whatever was in flight may or may not have reached the server, and is never answered.
    await device.net.abandon(() => chance(random, 0.5));
    rounds.delete(device);
    device.restart({ batchSize: int(random, 1, 4), pullLimit: int(random, 1, 6) });
  }
}

/**
 * At every commit point, a row with pending mutations shows exactly its base with those mutations re-applied
 * (unless an acknowledged, not yet pulled, mutation also touched it or a row it depends on), and a base exists
 * only for a row with pending mutations or an unconfirmed acknowledgement.
 */
async function checkPendingRows(device: TestDevice): Promise<void> {
  const db = device.db;
  await db.transaction('r', [...db.syncedTables(), db.outbox, db.bases, db.meta], async () => {
    const bases = new Map((await db.bases.toArray()).map((b) => [b.ref as string, b]));
    const entries = await db.outbox.orderBy('key').toArray();
    const pending = new Set(entries.flatMap((e) => e.refs as string[]));
    for (const [ref, base] of bases) {
      expect(pending.has(ref) || base.unconfirmed, `${device.name}: stale base ${ref}`).toBe(true);
    }
    const tainted = new Set([...bases.values()].filter((b) => b.unconfirmed).map((b) => b.ref as string));
    for (let grew = true; grew;) {
      grew = false;
      for (const e of entries) {
        if (e.refs.some((r) => tainted.has(r)) && e.refs.some((r) => !tainted.has(r))) {
          for (const r of e.refs) tainted.add(r);
          grew = true;
        }
      }
    }
    const rows = new Map<string, SyncedRow>();
    for (const [ref, base] of bases) if (base.row !== null) rows.set(ref, base.row);
    const store: RowStore = {
      get: async (table, id) => rows.get(`${table}/${id}`) as RowByTable[typeof table] | undefined,
      put: async (table, row) => void rows.set(`${table}/${row.id}`, row),
      delete: async (table, id) => void rows.delete(`${table}/${id}`),
    };
    const { userId } = await readMeta(db, ['userId']);
    for (const e of entries) {
      await bindMutation(e.name, e.args)?.apply(store, { hlc: e.hlc, at: e.createdAt, userId });
    }
    for (const ref of pending) {
      if (tainted.has(ref)) continue;
      const parts = splitRowRef(ref);
      if (parts === null) continue;
      const local = await db.table<SyncedRow, string>(parts.table).get(parts.id);
      expect(local, `${device.name}: ${ref} is not its base + pending mutations`).toEqual(rows.get(ref));
    }
  });
}

/**
 * An incident never leaves the device that triggered it: not when a later event is rejected before the pull that
 * confirms the trigger (the accepted trigger is re-applied on rebuild), and not when a pull page older than the
 * trigger's commit arrives after its acknowledgement (CL12).
 */
async function checkIncidentsStay(sim: Sim, device: TestDevice): Promise<void> {
  const ids = sim.triggered.get(device) ?? [];
  const present = await device.db.emergency_incidents.bulkGet(ids);
  const gone = ids.filter((_, i) => present[i] === undefined);
  expect(gone, `${device.name}: incidents it triggered are gone`).toEqual([]);
}

/** Every device finishes its round and syncs again until no device has anything left to push. */
async function heal(sim: Sim): Promise<void> {
  for (const device of sim.devices) await device.net.deliverDelayed();
  for (let pass = 0; pass < 20; pass += 1) {
    let busy = false;
    for (const device of sim.devices) {
      const inFlight = sim.rounds.get(device);
      if (inFlight !== undefined) await device.net.run(inFlight);
      sim.rounds.delete(device);
      const outcome = await device.net.run(device.client.syncOnce());
      if (outcome.kind !== 'ok') throw new Error(`heal: ${JSON.stringify(outcome)}`);
      if ((await device.db.outbox.count()) > 0) busy = true;
    }
    if (!busy) break;
  }
  // One more round each, so every device has pulled what the last pushes changed.
  for (const device of sim.devices) await device.net.run(device.client.syncOnce());
}

/**
 * Runs one seed against the server `createServer` makes (on the seed's clock); throws, naming the seed, when a
 * device diverges or a mutation is lost or applied twice.
 */
export async function runFuzzSeed(
  seed: number,
  createServer: (clock: TestClock) => Promise<FuzzServer>,
  options: { readonly startTime?: number; readonly duress?: boolean } = {},
): Promise<Array<Record<string, SyncedRow[]>>> {
  const random = seededRandom(seed);
  const clock = new TestClock(options.startTime);
  const server = await createServer(clock);
  const devices: TestDevice[] = [];
  const deviceCount = int(random, 2, 3);
  // Device ids from their own stream, so a seed replays exactly (HLC ties break by device id) and pinned seeds,
  // which drew none, keep their course.
  const deviceIds = seededIds(seededRandom(seed + 0x5eed), clock.now);
  for (let i = 0; i < deviceCount; i += 1) {
    devices.push(
      await createTestDevice(server, {
        now: clock.now,
        manual: true,
        userId: server.userId,
        clientId: deviceIds(),
        client: { batchSize: int(random, 1, 4), pullLimit: int(random, 1, 6) },
      }),
    );
  }
  const sim: Sim = {
    random,
    clock,
    server,
    devices,
    newId: seededIds(random, clock.now),
    created: new Set(),
    createdSamples: new Set(),
    rounds: new Map(),
    known: { moods: [], contacts: [], incidents: [] },
    triggered: new Map(),
    duress: options.duress ?? true,
  };
  try {
    const steps = int(random, 40, 120);
    for (let i = 0; i < steps; i += 1) {
      await step(sim);
      await server.dispatch?.();
      for (const device of devices) {
        await checkPendingRows(device);
        await checkIncidentsStay(sim, device);
      }
      if (chance(random, 0.05)) await server.compact();
    }
    await heal(sim);

    const expected = await server.liveRows();
    for (const device of devices) {
      expect(await device.db.outbox.count(), `${device.name} outbox`).toBe(0);
      expect(await device.db.bases.count(), `${device.name} bases`).toBe(0);
      expect(await device.db.samples.count(), `${device.name} samples`).toBe(0);
      expect(await device.snapshot(), `${device.name} store`).toEqual(expected);
    }
    const ledger = await server.ledger();
    expect(new Set(ledger).size, 'a mutation was applied twice').toBe(ledger.length);
    expect([...ledger].sort()).toEqual([...sim.created].sort());
    const samples = await server.storedSamples();
    expect(samples.size).toBe(sim.createdSamples.size);
    for (const id of sim.createdSamples) expect(samples.has(id)).toBe(true);
    const reached = new Set<string>();
    for (const device of devices) {
      const clientId = await clientIdOf(device);
      for (const r of await device.db.rejections.toArray()) reached.add(`${clientId}/${r.lane}/${r.seq}`);
    }
    expect([...reached].sort(), 'every rejection reaches a device').toEqual(
      [...(await server.rejections())].sort(),
    );
    return await Promise.all(devices.map((device) => device.snapshot()));
  } catch (error) {
    throw new Error(`sync fuzz seed ${seed} failed (pin it as a named regression): ${String(error)}`, {
      cause: error,
    });
  } finally {
    for (const device of devices) await device.close();
    await server.close?.();
  }
}
