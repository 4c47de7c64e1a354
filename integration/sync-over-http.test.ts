/**
 * The sync scenario once over real HTTP (issue #3 item 7, last sentence): the real server (`buildApp` with its
 * embedded auth, listening on a loopback port) on PGlite, and on real Postgres when TEST_DATABASE_URL is set; real
 * devices (Dexie on fake-indexeddb, one IndexedDB per device) with the real mutators, sync client and fetch
 * transport (gzip request bodies, gzip responses), and real tokens from sign-in and refresh.
 *
 * The seeded fault scenario runs against the fake server (web/src/sync/sync-fuzz.test.ts) and the real one
 * (sync-fuzz-real-server.test.ts); this file checks named cases end to end: status codes, encodings, row shapes,
 * merges, token refresh.
 */
// First: installs fake-indexeddb before anything loads Dexie.
import { newIndexedDb } from './fake-indexeddb.ts';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '../schema/src/ids.ts';
import { mutationErrors, sensorReadings, syncClients } from '../schema/src/db/tables.ts';
import { LANES } from '../schema/src/protocol/lane.ts';
import { SamplesAppendArgsV2 } from '../schema/src/protocol/mutators.ts';
import { sampleIds } from '../schema/src/protocol/sample-ids.ts';
import { startEmbeddedApp, type RunningApp } from '../sync-server/test/test-app.ts';
import { describeOnEachDatabase } from '../sync-server/test/test-databases.ts';
import { bindUser, openLocalDb, readMeta, type LocalDb } from '../web/src/sync/local-db.ts';
import { createHttpTransport } from '../web/src/sync/http-transport.ts';
import { createMutators, type Mutators } from '../web/src/sync/mutators.ts';
import { createSyncClient, type SyncClient, type SyncOutcome } from '../web/src/sync/sync-client.ts';
import { deviceSnapshot, postJson, serverSnapshot, sessionFrom, type Session } from './real-server-kit.ts';

const PASSWORD = 'a long enough passphrase';
const PHONE = '+447700900123';

/** A sync request a device made: where, the answer's status, and whether each body went gzip-compressed. */
interface RequestLog {
  path: string;
  status: number;
  gzipSent: boolean;
  /** The request's JSON, in bytes (before gzip). */
  jsonBytes: number;
  gzipReceived: boolean;
  /** The error body's `error_code`, for a refused request. */
  errorCode?: string;
}

/** One device: its own IndexedDB, clock, session (sign-in) and sync client over fetch. */
interface Device {
  readonly userId: string;
  readonly db: LocalDb;
  readonly mutators: Mutators;
  readonly client: SyncClient;
  /** The device's clock (ms); tests move it forward by hand. */
  readonly clock: { t: number };
  readonly requests: RequestLog[];
  refreshes: number;
}

let deviceCount = 0;

function openDevice(server: RunningApp, session: Session, options: { accessToken?: string } = {}) {
  deviceCount += 1;
  const db = openLocalDb({ name: `vitalwatch-e2e-${deviceCount}`, dexie: newIndexedDb() });
  const clock = { t: Date.now() };
  const now = () => clock.t;
  let accessToken = options.accessToken ?? session.accessToken;
  let refreshToken = session.refreshToken;
  const requests: RequestLog[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    // The spare connection's HEAD (CL15) carries no sync message: only push and pull are logged.
    if (new URL(url).pathname === '/sync/ping') return res;
    requests.push({
      path: new URL(url).pathname,
      status: res.status,
      gzipSent: new Headers(init?.headers).get('content-encoding') === 'gzip',
      jsonBytes:
        init?.body instanceof Uint8Array
          ? gunzipSync(init.body).length
          : Buffer.byteLength(typeof init?.body === 'string' ? init.body : ''),
      gzipReceived: res.headers.get('content-encoding') === 'gzip',
      ...(res.status >= 400 && {
        errorCode: ((await res.clone().json()) as { error_code: string }).error_code,
      }),
    });
    return res;
  };
  const device: Device = {
    userId: session.userId,
    db,
    mutators: createMutators({ db, now }),
    clock,
    requests,
    refreshes: 0,
    client: createSyncClient({
      db,
      transport: createHttpTransport({ baseUrl: server.url, fetch: recordingFetch }),
      now,
      getAccessToken: async () => accessToken,
      refreshAccessToken: async () => {
        device.refreshes += 1;
        const res = await postJson(`${server.url}/auth/v1/token?grant_type=refresh_token`, {
          refresh_token: refreshToken,
        });
        if (res.status !== 200) return null;
        const next = await sessionFrom(res);
        accessToken = next.accessToken;
        refreshToken = next.refreshToken;
        return accessToken;
      },
    }),
  };
  return device;
}

/** Syncs the devices in turn (A, B, A, B, …) until a whole pass pushes and pulls nothing. */
async function syncUntilQuiet(devices: readonly Device[]): Promise<SyncOutcome[]> {
  const outcomes: SyncOutcome[] = [];
  for (let pass = 0; pass < 8; pass++) {
    let quiet = pass > 0;
    for (const device of devices) {
      const outcome = await device.client.syncOnce();
      outcomes.push(outcome);
      if (outcome.kind !== 'ok') return outcomes;
      if (outcome.pushed > 0 || outcome.pulled > 0) quiet = false;
    }
    if (quiet) return outcomes;
  }
  throw new Error('the devices never went quiet');
}

async function leftovers(db: LocalDb) {
  return {
    outbox: await db.outbox.count(),
    bases: await db.bases.count(),
    samples: await db.samples.count(),
    rejections: await db.rejections.toArray(),
  };
}

describeOnEachDatabase('sync over real HTTP', (database) => {
  let server: RunningApp;
  /** Moves the server's clock (tokens are issued at this time); 0 = real time. */
  let serverSkewMs = 0;
  let email = '';
  const devices: Device[] = [];

  beforeAll(async () => {
    server = await startEmbeddedApp(database(), { now: () => new Date(Date.now() + serverSkewMs) });
    email = `e2e-${newId<string>()}@example.org`;
    // Sign-up answers the user without a session (SE45); the tests sign in.
    const signedUp = await postJson(`${server.url}/auth/v1/signup`, { email, password: PASSWORD });
    if (signedUp.status !== 200) throw new Error(`sign-up: ${signedUp.status} ${await signedUp.text()}`);
  });

  afterAll(async () => {
    for (const device of devices) device.db.close();
    await server.app.close();
  });

  async function signIn(): Promise<Session> {
    return sessionFrom(
      await postJson(`${server.url}/auth/v1/token?grant_type=password`, { email, password: PASSWORD }),
    );
  }

  async function newDevice(options: { accessToken?: string } = {}): Promise<Device> {
    const session = await signIn();
    const device = openDevice(server, session, options);
    await bindUser(device.db, session.userId);
    devices.push(device);
    return device;
  }

  it('[CF3][CF5][CF10][PU9] two devices working offline converge with each other and with the server', async () => {
    const a = await newDevice();
    const b = await newDevice();
    const moodId = newId<string>();
    const recordedAt = a.clock.t;

    // B can only edit A's mood entry once it has seen it: A records it and both sync once.
    await a.mutators.upsertMood({ id: moodId, recordedAt, fields: { mood: 3, energy: 2, note: 'first' } });
    expect(await a.client.syncOnce()).toMatchObject({ kind: 'ok', pushed: 1 });
    expect(await b.client.syncOnce()).toMatchObject({ kind: 'ok', pushed: 0 });
    expect(await b.db.mood_entries.get(moodId)).toMatchObject({ note: 'first' });

    // Offline on both. B edits first (its HLC is earlier) and adds the contact A is about to add, under another id.
    b.clock.t += 30_000;
    await b.mutators.upsertMood({ id: moodId, recordedAt, fields: { note: 'from B (earlier)', anxiety: 4 } });
    const contactB = newId<string>();
    await b.mutators.upsertContact({
      id: contactB,
      fields: { name: 'Sam from B', relationship: 'sibling' },
      phoneE164: PHONE,
      expectedPhoneE164: null,
    });

    a.clock.t += 90_000;
    const contactA = newId<string>();
    await a.mutators.upsertContact({
      id: contactA,
      fields: { name: 'Sam', tier: 1 },
      phoneE164: PHONE,
      expectedPhoneE164: null,
    });
    await a.mutators.upsertMood({ id: moodId, recordedAt, fields: { note: 'from A (later)' } });
    const incidentId = newId<string>();
    const triggeredAt = a.clock.t;
    const location = { lat: 51.5, lng: -0.12, accuracyM: 8, at: triggeredAt };
    await a.mutators.triggerIncident({
      id: incidentId,
      code: 'AB12CD',
      trigger: 'panic_button',
      triggeredAt,
      location,
    });
    a.clock.t += 1_000;
    await a.mutators.recordIncidentEvent({
      id: newId(),
      incidentId,
      type: 'location',
      at: a.clock.t,
      location: { ...location, lat: 51.51, at: a.clock.t },
    });
    a.clock.t += 1_000;
    await a.mutators.recordIncidentEvent({ id: newId(), incidentId, type: 'resolved', at: a.clock.t });

    const samples = new Map<string, { t: number; v: number }>();
    for (let batch = 0; batch < 4; batch++) {
      const t0 = a.clock.t + batch * 500_000;
      const dt = Array.from({ length: 500 }, (_, i) => (i === 0 ? 0 : 1_000));
      const v = dt.map((_, i) => 60 + ((batch * 500 + i) % 40));
      const { key } = await a.mutators.appendSamples({ kind: 1, t0, dt, v });
      // samples.append@2: the server stores each sample under the id derived from the batch's (CF13).
      const { id } = SamplesAppendArgsV2.parse((await a.db.outbox.get(key))?.args);
      sampleIds(id, t0, dt).forEach((sampleId, i) =>
        samples.set(sampleId, { t: t0 + i * 1_000, v: v[i] ?? 0 }),
      );
    }

    // A pushes first, so A's contact is the one the server keeps and A's later mood edit arrives before B's.
    const outcomes = await syncUntilQuiet([a, b]);
    expect(outcomes.filter((o) => o.kind !== 'ok')).toEqual([]);
    expect(outcomes.flatMap((o) => (o.kind === 'ok' ? o.stuckLanes : []))).toEqual([]);

    // Every request body of 1 KiB or more went gzip-compressed, smaller ones as they were (AU8), and the server
    // compressed its larger answers.
    const requests = [...a.requests, ...b.requests];
    expect(requests.filter((r) => r.status !== 200 || r.gzipSent !== r.jsonBytes >= 1024)).toEqual([]);
    expect(requests.some((r) => r.gzipSent)).toBe(true);
    expect(requests.some((r) => r.gzipReceived)).toBe(true);

    // Both devices hold exactly what a fresh pull of the server returns, and have nothing pending.
    const onServer = await serverSnapshot(server.url, (await signIn()).accessToken);
    expect(await deviceSnapshot(a.db)).toEqual(onServer);
    expect(await deviceSnapshot(b.db)).toEqual(onServer);
    for (const device of [a, b]) {
      expect(await leftovers(device.db)).toEqual({ outbox: 0, bases: 0, samples: 0, rejections: [] });
    }

    // The same number created on both devices is one contact: A's (the server had it first), with B's
    // relationship joined in (no one else wrote it) and A's name (the later edit).
    expect(onServer.emergency_contacts).toEqual([
      expect.objectContaining({ id: contactA, phoneE164: PHONE, name: 'Sam', relationship: 'sibling' }),
    ]);
    // The note is A's: its HLC is later, although B's edit reached the server last. B's other field stays.
    expect(onServer.mood_entries).toEqual([
      expect.objectContaining({ id: moodId, mood: 3, energy: 2, anxiety: 4, note: 'from A (later)' }),
    ]);
    // The incident folded its events: moved to the reported location, then resolved.
    expect(onServer.emergency_incidents).toEqual([
      expect.objectContaining({
        id: incidentId,
        status: 'resolved',
        triggeredAt,
        resolvedAt: triggeredAt + 2_000,
        latitude: 51.51,
      }),
    ]);
    expect(
      onServer.incident_events
        .map(({ type, outcome }) => ({ type, outcome }))
        .sort((x, y) => x.type.localeCompare(y.type)),
    ).toEqual([
      { type: 'location', outcome: 'applied' },
      { type: 'resolved', outcome: 'applied' },
    ]);

    // Every sample is in the database exactly once, as it was taken.
    const { db } = database();
    const stored = (await db.select().from(sensorReadings)).filter((r) => r.userId === a.userId);
    expect(stored).toHaveLength(2_000);
    expect(new Set(stored.map((r) => r.id))).toEqual(new Set(samples.keys()));
    for (const row of stored) {
      expect({ t: row.recordedAt.getTime(), v: row.value, kind: row.kind }).toEqual({
        ...samples.get(row.id),
        kind: 1,
      });
    }

    // The server's ledger matches what each device created, lane by lane, and nothing was refused.
    const ledger = await db.select().from(syncClients);
    for (const device of [a, b]) {
      const clientId = (await readMeta(device.db, ['clientId'])).clientId;
      const meta = await readMeta(
        device.db,
        LANES.map((lane) => `nextSeq:${lane}` as const),
      );
      for (const lane of LANES) {
        const created = (meta[`nextSeq:${lane}`] ?? 1) - 1;
        const row = ledger.find((r) => r.clientId === clientId && r.lane === lane);
        expect(row?.lastSeq ?? 0).toBe(created);
      }
    }
    expect((await db.select().from(mutationErrors)).length).toBe(0);
  });

  it('[CL4][AU3] a device whose access token expired while offline refreshes it and delivers its outbox', async () => {
    // A token issued two hours ago by the server's clock has been expired for 1 h 45 min.
    serverSkewMs = -2 * 3_600_000;
    const stale = await signIn();
    serverSkewMs = 0;
    const c = await newDevice({ accessToken: stale.accessToken });

    const moodId = newId<string>();
    await c.mutators.upsertMood({ id: moodId, recordedAt: c.clock.t, fields: { mood: 4, note: 'offline' } });
    await c.mutators.logCopingTool({
      id: newId(),
      tool: 'box_breathing',
      startedAt: c.clock.t,
      completed: true,
    });

    expect(await c.client.syncOnce()).toMatchObject({ kind: 'ok', pushed: 2 });
    expect(c.refreshes).toBe(1);
    expect(c.requests.slice(0, 2)).toMatchObject([
      { path: '/sync/push', status: 401, errorCode: 'token_expired' },
      { path: '/sync/push', status: 200 },
    ]);
    expect(c.requests.filter((r) => r.status !== 200)).toHaveLength(1);
    expect(await leftovers(c.db)).toEqual({ outbox: 0, bases: 0, samples: 0, rejections: [] });

    // The refreshed token keeps serving; the server holds C's writes; C caught up with everything else.
    expect(await c.client.syncOnce()).toMatchObject({ kind: 'ok', pushed: 0, pulled: 0 });
    expect(c.refreshes).toBe(1);
    const onServer = await serverSnapshot(server.url, (await signIn()).accessToken);
    expect(onServer.mood_entries).toContainEqual(
      expect.objectContaining({ id: moodId, mood: 4, note: 'offline' }),
    );
    expect(await deviceSnapshot(c.db)).toEqual(onServer);
  });
});
