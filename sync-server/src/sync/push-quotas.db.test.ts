import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { apiUsage, emergencyIncidents, sensorReadings, syncClients } from '@vitalwatch/schema/db/tables';
import type { FastifyInstance } from 'fastify';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import type { Db } from '../db/database.ts';
import { DEFAULT_SYNC_QUOTAS, SYNC_PUSH_ROUTE, type SyncQuotas } from './push-quotas.ts';
import {
  mutation,
  post,
  push,
  pushBody,
  signUp,
  startSyncServer,
  type SyncServer,
  samplesEntries,
  samplesEntry,
  type TestClock,
  type TestUser,
} from '../../test/sync-test-kit.ts';

async function storedSamples(db: Db, userId: UserId): Promise<number> {
  const [row] = await db.select({ n: count() }).from(sensorReadings).where(eq(sensorReadings.userId, userId));
  return row?.n ?? 0;
}

async function laneSeq(db: Db, clientId: string, lane: string): Promise<number | undefined> {
  const [row] = await db
    .select({ lastSeq: syncClients.lastSeq })
    .from(syncClients)
    .where(and(eq(syncClients.clientId, clientId), eq(syncClients.lane, lane)));
  return row?.lastSeq;
}

async function usage(db: Db, userId: UserId) {
  const rows = await db
    .select({
      samples: apiUsage.samples,
      bytesIn: apiUsage.bytesIn,
      requests: apiUsage.requests,
      rejected: apiUsage.rejected,
    })
    .from(apiUsage)
    .where(and(eq(apiUsage.userId, userId), eq(apiUsage.route, SYNC_PUSH_ROUTE)));
  return rows;
}

/** User-lane pushes of 45 KB of mood notes until the daily byte quota refuses one; returns that answer. */
async function exhaustBytes(app: FastifyInstance, user: TestUser, clientId: string) {
  const note = 'x'.repeat(9_000);
  let seq = 0;
  for (let i = 0; i < 40; i++) {
    const body = pushBody(
      clientId,
      'user',
      Array.from({ length: 5 }, () => {
        seq += 1;
        return mutation(seq, 'mood.upsert@1', {
          id: newId(),
          recordedAt: Date.now(),
          fields: { mood: 3, note },
        });
      }),
    );
    const response = await post(app, '/sync/push', user.token, body, { gzip: true });
    if (response.statusCode === 429) return response;
    expect(response.statusCode).toBe(200);
  }
  throw new Error('the byte quota never refused a push');
}

/** The sync token a server issues for `user`'s access token: every server on the database accepts it (AU6). */
async function syncToken(app: FastifyInstance, user: TestUser): Promise<string> {
  const response = await post(app, '/sync/pull', user.token, {
    protocolVersion: 4,
    clientId: newId(),
    cursor: 0,
  });
  const token = response.headers['x-sync-token'];
  if (typeof token !== 'string') throw new Error('no sync token');
  return token;
}

function secondsToUtcMidnight(ms: number): number {
  const day = new Date(ms);
  const next = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1);
  return Math.ceil((next - ms) / 1000);
}

describeOnEachDatabase('sync quotas', (database) => {
  const clock: TestClock = { ms: Date.now() };
  const quotas: SyncQuotas = { samplesPerPush: 10_000, samplesPerDay: 25_000, pushBytesPerDay: 256 * 1024 };
  let defaults: SyncServer;
  let limited: SyncServer;
  beforeAll(async () => {
    defaults = await startSyncServer(database());
    limited = await startSyncServer(database(), { syncQuotas: quotas, clock });
  });
  afterAll(async () => {
    await defaults.app.close();
    await limited.app.close();
  });

  it('[SE20] refuses a 9 KiB gzip push of 500,000 samples with 413 naming the per-push limit, and stores nothing', async () => {
    const { db } = database();
    const user = await signUp(defaults.app);
    const clientId = newId();
    const body = pushBody(clientId, 'bulk', samplesEntries(1, 500_000));
    const response = await post(defaults.app, '/sync/push', user.token, body, { gzip: true });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({
      error_code: 'too_many_samples',
      limit: 'samples_per_push',
      limit_value: DEFAULT_SYNC_QUOTAS.samplesPerPush,
      message: expect.stringMatching(
        /500,000 sensor samples.*at most 100,000 in one push.*keeps the samples/,
      ),
    });
    expect(await storedSamples(db, user.userId)).toBe(0);
    expect(await laneSeq(db, clientId, 'bulk')).toBeUndefined();
    expect(await usage(db, user.userId)).toEqual([]);

    // The same samples in pushes the limit allows are stored.
    const fits = await push(defaults.app, user, pushBody(clientId, 'bulk', samplesEntries(1, 100_000)), {
      gzip: true,
    });
    expect(fits.lastSeq).toBe(10);
    expect(await storedSamples(db, user.userId)).toBe(100_000);
  });

  it('[SE48] a bulk batch sent again (its answer lost, or under new seqs with the same batch id) counts once against the day', async () => {
    const { db } = database();
    const user = await signUp(limited.app);
    const clientId = newId();
    const batch = samplesEntry(1, 10_000);
    const body = pushBody(clientId, 'bulk', [batch]);
    expect((await push(limited.app, user, body)).results).toEqual([{ seq: 1, status: 'ok' }]);
    // The device never heard the answer, and sends the same batch again: a dup.
    expect((await push(limited.app, user, body)).results).toEqual([{ seq: 1, status: 'dup' }]);
    // Or it rebuilt its outbox and sends the batch (same batch id, so the same sample ids) under a new seq.
    const again = await push(limited.app, user, pushBody(clientId, 'bulk', [{ ...batch, seq: 2 }]));
    expect(again.results).toEqual([{ seq: 2, status: 'ok' }]);
    expect(await storedSamples(db, user.userId)).toBe(10_000);
    const [day] = await usage(db, user.userId);
    expect(day).toMatchObject({ samples: 10_000, requests: 3 });
    // So the rest of the day's 25,000 is still there.
    const more = await push(limited.app, user, pushBody(clientId, 'bulk', [samplesEntry(3, 10_000)]));
    expect(more.results).toEqual([{ seq: 3, status: 'ok' }]);
    expect(await usage(db, user.userId)).toMatchObject([{ samples: 20_000 }]);
  });

  it("[SE21] refuses the push that would pass the account's daily samples with 429 + Retry-After to UTC midnight; the count survives a restart and the next day takes them", async () => {
    const { db } = database();
    const user = await signUp(limited.app);
    const clientId = newId();
    for (const seq of [1, 2]) {
      const ok = await push(limited.app, user, pushBody(clientId, 'bulk', [samplesEntry(seq, 10_000)]));
      expect(ok.results).toEqual([{ seq, status: 'ok' }]);
    }
    const over = pushBody(clientId, 'bulk', [samplesEntry(3, 10_000)]);
    const refused = await post(limited.app, '/sync/push', user.token, over);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe(String(secondsToUtcMidnight(clock.ms)));
    expect(refused.json()).toMatchObject({
      error_code: 'daily_quota_exceeded',
      limit: 'samples_per_day',
      limit_value: 25_000,
      // The same seconds as the header, as in every 429 (SE30).
      retry_after_seconds: secondsToUtcMidnight(clock.ms),
      message: expect.stringMatching(
        /sent 20,000 sensor samples today.*25,000 per account per day.*keeps it/,
      ),
    });
    expect(await storedSamples(db, user.userId)).toBe(20_000);
    expect(await laneSeq(db, clientId, 'bulk')).toBe(2);

    // Another server on the same database (a restart, or a second instance) reads the same count.
    const restarted = await startSyncServer(database(), { syncQuotas: quotas, clock });
    try {
      const token = await syncToken(limited.app, user);
      expect((await post(restarted.app, '/sync/push', token, over)).statusCode).toBe(429);
    } finally {
      await restarted.app.close();
    }
    const [day] = await usage(db, user.userId);
    expect(day).toMatchObject({ samples: 20_000, requests: 2, rejected: 2 });

    clock.ms += 86_400_000;
    try {
      const nextDay = await push(limited.app, user, over);
      expect(nextDay.results).toEqual([{ seq: 3, status: 'ok' }]);
    } finally {
      clock.ms -= 86_400_000;
    }
    expect(await storedSamples(db, user.userId)).toBe(30_000);
  });

  it('[SE21] counts the inflated bytes of user- and bulk-lane pushes against a daily limit, named in the 429', async () => {
    const { db } = database();
    const user = await signUp(limited.app);
    const clientId = newId();
    const refused = await exhaustBytes(limited.app, user, clientId);
    expect(refused.json()).toMatchObject({
      error_code: 'daily_quota_exceeded',
      limit: 'push_bytes_per_day',
      limit_value: 256 * 1024,
      message: expect.stringMatching(/of sync data today.*0\.3 MiB per account per day/),
    });
    const [day] = await usage(db, user.userId);
    // Inflated JSON, not the few KiB of gzip on the wire.
    expect(day!.bytesIn).toBeGreaterThan(200 * 1024);
    expect(day!.bytesIn).toBeLessThanOrEqual(256 * 1024);
  });

  it('[SE22] with every quota exhausted, an SOS and its events still commit, and are not counted', async () => {
    const { db } = database();
    const user = await signUp(limited.app);
    const clientId = newId();
    await push(limited.app, user, pushBody(clientId, 'bulk', [samplesEntry(1, 10_000)]));
    await push(limited.app, user, pushBody(clientId, 'bulk', [samplesEntry(2, 10_000)]));
    expect((await exhaustBytes(limited.app, user, clientId)).statusCode).toBe(429);
    const samples = pushBody(clientId, 'bulk', [samplesEntry(3, 10_000)]);
    expect((await post(limited.app, '/sync/push', user.token, samples)).statusCode).toBe(429);
    const before = await usage(db, user.userId);

    const incidentId = newId();
    const sos = await push(
      limited.app,
      user,
      pushBody(clientId, 'critical', [
        mutation(1, 'incident.trigger@1', {
          id: incidentId,
          code: 'QUOTA1',
          trigger: 'panic_button',
          triggeredAt: Date.now(),
        }),
        mutation(2, 'incident.event@1', {
          id: newId(),
          incidentId,
          type: 'location',
          at: Date.now(),
          location: { lat: 51.5, lng: -0.12, accuracyM: 20, at: Date.now() },
        }),
      ]),
      { gzip: true },
    );
    expect(sos.results.map((r) => r.status)).toEqual(['ok', 'ok']);
    const [incident] = await db
      .select({ status: emergencyIncidents.status })
      .from(emergencyIncidents)
      .where(eq(emergencyIncidents.id, incidentId));
    expect(incident?.status).toBe('active');
    expect(await usage(db, user.userId)).toEqual(before);
  });

  it('[SE21] concurrent pushes on two servers never pass the daily limit together', async () => {
    const { db } = database();
    const user = await signUp(limited.app);
    const other = await startSyncServer(database(), { syncQuotas: quotas, clock });
    const token = await syncToken(limited.app, user);
    try {
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          post(
            i % 2 === 0 ? limited.app : other.app,
            '/sync/push',
            token,
            pushBody(newId(), 'bulk', [samplesEntry(1, 5_000)]),
          ),
        ),
      );
      const statuses = responses.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
    } finally {
      await other.app.close();
    }
    expect(await storedSamples(db, user.userId)).toBe(25_000);
    const [day] = await usage(db, user.userId);
    expect(day).toMatchObject({ samples: 25_000, requests: 5, rejected: 5 });
  });

  it('[SE21] a push that fails (a device id of another account) gives its charge back', async () => {
    const { db } = database();
    const owner = await signUp(limited.app);
    const thief = await signUp(limited.app);
    const clientId = newId();
    await push(limited.app, owner, pushBody(clientId, 'bulk', [samplesEntry(1, 10)]));
    await push(limited.app, thief, pushBody(newId(), 'bulk', [samplesEntry(1, 10)]));
    const before = await usage(db, thief.userId);
    const stolen = await post(
      limited.app,
      '/sync/push',
      thief.token,
      pushBody(clientId, 'bulk', [samplesEntry(1, 10_000)]),
    );
    expect(stolen.statusCode).toBe(409);
    expect(await usage(db, thief.userId)).toEqual(before);
  });
});
