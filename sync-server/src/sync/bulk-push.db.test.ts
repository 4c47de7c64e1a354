import http from 'node:http';
import { and, count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import {
  emergencyIncidents,
  mutationErrors,
  sensorReadings,
  syncClients,
  syncTokens,
} from '@vitalwatch/schema/db/tables';
import type { PushResponse } from '@vitalwatch/schema/protocol/push-response';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import type { Db, DbKind } from '../db/database.ts';
import { createDatabaseGate, type DatabaseGate } from '../db/database-gate.ts';
import {
  mutation,
  post,
  push,
  pushBody,
  samplesEntries,
  samplesEntry,
  signUp,
  startSyncServer,
  type SyncServer,
  type TestUser,
} from '../../test/sync-test-kit.ts';

async function storedSamples(db: Db, userId: UserId): Promise<number> {
  const [row] = await db.select({ n: count() }).from(sensorReadings).where(eq(sensorReadings.userId, userId));
  return row?.n ?? 0;
}

async function laneSeq(db: Db, clientId: string): Promise<number | undefined> {
  const [row] = await db
    .select({ lastSeq: syncClients.lastSeq })
    .from(syncClients)
    .where(and(eq(syncClients.clientId, clientId), eq(syncClients.lane, 'bulk')));
  return row?.lastSeq;
}

/** `samplesEntry` with one sample's value replaced. */
function entryWithValue(seq: number, n: number, index: number, value: number) {
  const entry = samplesEntry(seq, n);
  (entry.args as { v: number[] }).v[index] = value;
  return entry;
}

/** The gate the server runs, logging when a possible SOS's hold is taken and let go and when an SOS is handled. */
function watchedGate(kind: DbKind, events: string[]): DatabaseGate {
  const gate = createDatabaseGate(kind);
  return {
    ...gate,
    mayBeCritical() {
      events.push('hold');
      const release = gate.mayBeCritical();
      let held = true;
      return () => {
        if (held) events.push('released');
        held = false;
        release();
      };
    },
    whileCritical: (work) =>
      gate.whileCritical(async () => {
        try {
          return await work();
        } finally {
          events.push('handled');
        }
      }),
  };
}

describeOnEachDatabase('bulk pushes in steps', (database, kind) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  it('[SE23] stores a push of several batches in steps exactly once; a batch with a value no sensor reading can hold is rejected alone with nothing of it stored', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const clientId = newId();
    const body = pushBody(clientId, 'bulk', [
      samplesEntry(1, 9_000),
      entryWithValue(2, 5_000, 4_000, 1e39),
      samplesEntry(3, 10_000),
      samplesEntry(4, 6_000),
    ]);
    const first = await push(server.app, user, body, { gzip: true });
    expect(first.results).toEqual([
      { seq: 1, status: 'ok' },
      {
        seq: 2,
        status: 'rejected',
        code: 'invalid_args',
        message: expect.stringMatching(/1e\+39.*out of range/),
      },
      { seq: 3, status: 'ok' },
      { seq: 4, status: 'ok' },
    ]);
    expect(first.lastSeq).toBe(4);
    expect(await storedSamples(db, user.userId)).toBe(25_000);
    const errors = await db
      .select({ seq: mutationErrors.seq, code: mutationErrors.code })
      .from(mutationErrors)
      .where(eq(mutationErrors.clientId, clientId));
    expect(errors).toEqual([{ seq: 2, code: 'invalid_args' }]);

    const again = await push(server.app, user, body, { gzip: true });
    expect(again.results.map((r) => r.status)).toEqual(['dup', 'dup', 'dup', 'dup']);
    expect(await storedSamples(db, user.userId)).toBe(25_000);
  });

  it('[SE23] a transient failure halfway answers 503; the lane never passes a batch not wholly stored, and the re-sent push completes it once', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    await db.execute(sql`
      create function vw_test_sample_fault() returns trigger language plpgsql as $$
      begin
        if new.value = 4242 then raise exception 'injected fault' using errcode = '40001'; end if;
        return new;
      end $$`);
    await db.execute(sql`
      create trigger vw_test_sample_fault before insert on sensor_readings
      for each row execute function vw_test_sample_fault()`);
    const clientId = newId();
    const body = pushBody(clientId, 'bulk', [samplesEntry(1, 3_000), entryWithValue(2, 3_000, 2_500, 4242)]);
    try {
      const failed = await post(server.app, '/sync/push', user.token, body);
      expect(failed.statusCode).toBe(503);
      const lastSeq = (await laneSeq(db, clientId)) ?? 0;
      expect(lastSeq).toBeLessThanOrEqual(1);
      // Steps commit one by one (2,000 samples on PGlite): the first batch is whole before the lane names it.
      if (lastSeq === 1) expect(await storedSamples(db, user.userId)).toBeGreaterThanOrEqual(3_000);
      expect(await storedSamples(db, user.userId)).toBeLessThan(6_000);
    } finally {
      await db.execute(sql`drop trigger vw_test_sample_fault on sensor_readings`);
      await db.execute(sql`drop function vw_test_sample_fault()`);
    }
    const retried = await push(server.app, user, body);
    expect(retried.lastSeq).toBe(2);
    expect(retried.results.at(-1)).toEqual({ seq: 2, status: 'ok' });
    expect(await storedSamples(db, user.userId)).toBe(6_000);
  });

  it("[SE24][SE25] another account's SOS commits while one account's largest push (and, on Postgres, more uploads than the pool has connections) is still being stored", async () => {
    const { db } = database();
    const uploader = await signUp(server.app);
    const other: TestUser = await signUp(server.app);
    // The uploads answered so far: none may be before the SOS is (with one transaction per push, the first
    // stored sample was only visible once a whole push had committed).
    let answered = 0;
    const upload = (samples: number) =>
      push(server.app, uploader, pushBody(newId(), 'bulk', samplesEntries(1, samples)), { gzip: true }).then(
        (response) => {
          answered += 1;
          return response;
        },
      );
    // On Postgres, ten more uploads at once: without the gate they would hold every pooled connection.
    const uploads: Array<Promise<PushResponse>> = [
      upload(100_000),
      ...(kind === 'postgres' ? Array.from({ length: 10 }, () => upload(30_000)) : []),
    ];
    while ((await storedSamples(db, uploader.userId)) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    const incidentId = newId();
    const sos = await push(
      server.app,
      other,
      pushBody(newId(), 'critical', [
        mutation(1, 'incident.trigger@1', {
          id: incidentId,
          code: 'FAIR01',
          trigger: 'panic_button',
          triggeredAt: Date.now(),
        }),
      ]),
    );
    expect(sos.results).toEqual([{ seq: 1, status: 'ok' }]);
    expect(answered).toBe(0);
    const [incident] = await db
      .select({ status: emergencyIncidents.status })
      .from(emergencyIncidents)
      .where(eq(emergencyIncidents.id, incidentId));
    expect(incident?.status).toBe('active');

    const responses = await Promise.all(uploads);
    expect(responses.every((response) => response.results.every((r) => r.status === 'ok'))).toBe(true);
    expect(await storedSamples(db, uploader.userId)).toBe(100_000 + (uploads.length - 1) * 30_000);
  }, 180_000);

  it('[SE47] a push small enough to be an SOS holds back bulk work from before its token check until its lane is known', async () => {
    const { db } = database();
    const uploader = await signUp(server.app);
    const other = await signUp(server.app);
    const incidentId = newId();
    const sosJson = JSON.stringify(
      pushBody(newId(), 'critical', [
        mutation(1, 'incident.trigger@1', {
          id: incidentId,
          code: 'HOLD01',
          trigger: 'panic_button',
          triggeredAt: Date.now(),
        }),
      ]),
    );
    // The SOS's headers and half its body: the server has its token but not yet its lane.
    const sosRequest = http.request(`${server.url}/sync/push`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(sosJson)),
        authorization: `Bearer ${other.token}`,
      },
    });
    const sosAnswer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      sosRequest.on('response', (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      sosRequest.on('error', reject);
    });
    const half = Math.floor(sosJson.length / 2);
    sosRequest.write(sosJson.slice(0, half));
    // Its token has been checked (the hold starts before): the sync token issued for its access token is stored.
    while ((await db.select().from(syncTokens).where(eq(syncTokens.userId, other.userId))).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    let uploaded = false;
    const upload = push(server.app, uploader, pushBody(newId(), 'bulk', samplesEntries(1, 20_000)), {
      gzip: true,
    }).then((response) => ((uploaded = true), response));
    // A bounded look, well inside MAY_BE_CRITICAL_MS: without the hold the first steps are stored by now (on a
    // quiet machine; a very busy one may not have got that far either way).
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(uploaded).toBe(false);
    expect(await storedSamples(db, uploader.userId)).toBe(0);

    sosRequest.end(sosJson.slice(half));
    const sos = await sosAnswer;
    expect(sos.status).toBe(200);
    expect((JSON.parse(sos.body) as PushResponse).results).toEqual([{ seq: 1, status: 'ok' }]);
    const response = await upload;
    expect(response.results.every((r) => r.status === 'ok')).toBe(true);
    expect(await storedSamples(db, uploader.userId)).toBe(20_000);
  }, 60_000);

  it('[SE50] an SOS holds bulk work back until its answer is written, not only until its handler returns', async () => {
    const events: string[] = [];
    const watched = await startSyncServer(database(), { databaseGate: watchedGate(kind, events) });
    try {
      const user = await signUp(watched.app);
      const sos = pushBody(newId(), 'critical', [
        mutation(1, 'incident.trigger@1', {
          id: newId(),
          code: 'HOLD02',
          trigger: 'panic_button',
          triggeredAt: Date.now(),
        }),
      ]);
      const response = await push(watched.app, user, sos);
      expect(response.results).toEqual([{ seq: 1, status: 'ok' }]);
      expect(events).toEqual(['hold', 'handled', 'released']);
    } finally {
      await watched.app.close();
    }
  });
});
