import { and, count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import {
  emergencyIncidents,
  moodEntries,
  mutationErrors,
  sensorReadings,
  syncClients,
  userVersions,
} from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import type { Db } from '../db/database.ts';
import {
  hlc,
  mutation,
  post,
  pull,
  push,
  pushBody,
  rawMutation,
  responseJson,
  signUp,
  startSyncServer,
  type SyncServer,
  type TestUser,
} from '../../test/sync-test-kit.ts';

function mood(id: string, note: string, at = Date.now()) {
  return { id, recordedAt: at, fields: { mood: 3, note } };
}

async function moodNotes(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .select({ note: moodEntries.note })
    .from(moodEntries)
    .where(eq(moodEntries.userId, userId))
    .orderBy(moodEntries.id);
  return rows.map((r) => r.note ?? '');
}

async function laneSeq(db: Db, clientId: string, lane: string): Promise<number | undefined> {
  const [row] = await db
    .select({ lastSeq: syncClients.lastSeq })
    .from(syncClients)
    .where(and(eq(syncClients.clientId, clientId), eq(syncClients.lane, lane)));
  return row?.lastSeq;
}

async function userVersion(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ version: userVersions.version })
    .from(userVersions)
    .where(eq(userVersions.userId, userId));
  return row?.version ?? 0;
}

describeOnEachDatabase('POST /sync/push', (database) => {
  let server: SyncServer;
  let alice: TestUser;
  let bob: TestUser;
  beforeAll(async () => {
    server = await startSyncServer(database());
    alice = await signUp(server.app);
    bob = await signUp(server.app);
  });
  afterAll(() => server.app.close());

  it('[PU1][PU10] applies a batch once, stamps fresh versions, and answers a replayed batch with dup for every seq', async () => {
    const { db } = database();
    const clientId = newId();
    const ids = [newId(), newId(), newId()];
    const batch = pushBody(
      clientId,
      'user',
      ids.map((id, i) => mutation(i + 1, 'mood.upsert@1', mood(id, `note ${i}`))),
    );
    const before = await userVersion(db, alice.userId);
    const first = await push(server.app, alice, batch);
    // New entries created as sent: each ok names the version its row got (PU12).
    expect(first.results).toEqual([
      { seq: 1, status: 'ok', v: before + 1 },
      { seq: 2, status: 'ok', v: before + 2 },
      { seq: 3, status: 'ok', v: before + 3 },
    ]);
    expect(first.lastSeq).toBe(3);
    expect(first.serverTime).toBe(server.clock.ms);
    const versions = await db
      .select({ version: moodEntries.version })
      .from(moodEntries)
      .where(eq(moodEntries.userId, alice.userId))
      .orderBy(moodEntries.version);
    expect(versions.map((v) => v.version)).toEqual([before + 1, before + 2, before + 3]);

    // The response was lost; the device sends the same batch again.
    const replay = await push(server.app, alice, batch);
    expect(replay.results).toEqual([
      { seq: 1, status: 'dup' },
      { seq: 2, status: 'dup' },
      { seq: 3, status: 'dup' },
    ]);
    expect(replay.lastSeq).toBe(3);
    expect(await userVersion(db, alice.userId)).toBe(before + 3);
    const [rows] = await db
      .select({ n: count() })
      .from(moodEntries)
      .where(eq(moodEntries.userId, alice.userId));
    expect(rows?.n).toBe(3);

    // A batch overlapping the acknowledged part: the old seqs are dup, the new one applies.
    const overlap = await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [
        mutation(3, 'mood.upsert@1', mood(ids[2]!, 'changed?')),
        mutation(4, 'mood.upsert@1', mood(newId(), 'note 3')),
      ]),
    );
    expect(overlap.results).toEqual([
      { seq: 3, status: 'dup' },
      { seq: 4, status: 'ok', v: before + 4 },
    ]);
    expect(await moodNotes(db, alice.userId)).not.toContain('changed?');
  });

  it('[PU2] stops at a gap: no result and no write for the missing seq or anything after it', async () => {
    const { db } = database();
    const clientId = newId();
    const ids = [newId(), newId(), newId()];
    const response = await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [
        mutation(1, 'mood.upsert@1', mood(ids[0]!, 'gap 1')),
        mutation(3, 'mood.upsert@1', mood(ids[1]!, 'gap 3')),
        mutation(4, 'mood.upsert@1', mood(ids[2]!, 'gap 4')),
      ]),
    );
    expect(response.results).toEqual([{ seq: 1, status: 'ok', v: expect.any(Number) }]);
    expect(response.lastSeq).toBe(1);
    const notes = await moodNotes(db, alice.userId);
    expect(notes).toContain('gap 1');
    expect(notes).not.toContain('gap 3');
    expect(notes).not.toContain('gap 4');
    // A batch that starts past last_seq + 1 applies nothing.
    const later = await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [mutation(5, 'mood.upsert@1', mood(newId(), 'gap 5'))]),
    );
    expect(later.results).toEqual([]);
    expect(later.lastSeq).toBe(1);
    expect(await laneSeq(db, clientId, 'user')).toBe(1);
  });

  it('[PU3] rejects a permanent failure alone, records it with its args, tells the user what to do, and moves past it', async () => {
    const { db } = database();
    const clientId = newId();
    const good1 = newId();
    const good2 = newId();
    const response = await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [
        mutation(1, 'mood.upsert@1', mood(good1, 'before the bad one')),
        rawMutation(2, 'mood.upsert@1', { id: newId(), recordedAt: 1, fields: { mood: 9 } }),
        rawMutation(3, 'mood.teleport@1', { anywhere: true }),
        // A new mood entry without a score: the mutator itself refuses it, after its own writes began.
        mutation(4, 'mood.upsert@1', { id: newId(), recordedAt: Date.now(), fields: { note: 'no score' } }),
        mutation(5, 'mood.upsert@1', mood(good2, 'after the bad ones')),
      ]),
    );
    expect(response.results.map((r) => r.status)).toEqual(['ok', 'rejected', 'rejected', 'rejected', 'ok']);
    expect(response.results[1]).toMatchObject({
      code: 'invalid_args',
      message: expect.stringMatching(/fields\.mood/),
    });
    expect(response.results[2]).toMatchObject({
      code: 'unknown_mutator',
      message: expect.stringMatching(/Update the app/),
    });
    expect(response.results[3]).toMatchObject({
      code: 'invalid_args',
      message: expect.stringMatching(/needs a mood score/),
    });
    expect(response.lastSeq).toBe(5);
    expect(await laneSeq(db, clientId, 'user')).toBe(5);

    const errors = await db
      .select()
      .from(mutationErrors)
      .where(eq(mutationErrors.clientId, clientId))
      .orderBy(mutationErrors.seq);
    expect(errors.map((e) => [e.seq, e.name, e.code])).toEqual([
      [2, 'mood.upsert@1', 'invalid_args'],
      [3, 'mood.teleport@1', 'unknown_mutator'],
      [4, 'mood.upsert@1', 'invalid_args'],
    ]);
    expect(errors[1]?.args).toEqual({ anywhere: true });
    expect(errors.every((e) => e.userId === alice.userId && e.lane === 'user')).toBe(true);
    const notes = await moodNotes(db, alice.userId);
    expect(notes).toEqual(expect.arrayContaining(['before the bad one', 'after the bad ones']));
    expect(notes).not.toContain('no score');
  });

  it('[PU3] rejects text Postgres cannot store (a NUL character) alone and records it, with U+FFFD in its place', async () => {
    const { db } = database();
    const clientId = newId();
    const [before, nul, after, lone] = [newId(), newId(), newId(), newId()];
    const response = await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [
        mutation(1, 'mood.upsert@1', mood(before, 'plain')),
        mutation(2, 'mood.upsert@1', mood(nul, 'a\u0000b')),
        mutation(3, 'mood.upsert@1', mood(after, 'plain too')),
        mutation(4, 'mood.upsert@1', mood(lone, 'half \ud83d a smile')),
      ]),
    );
    expect(response.results.map((r) => [r.status, 'code' in r ? r.code : null])).toEqual([
      ['ok', null],
      ['rejected', 'invalid_args'],
      ['ok', null],
      ['ok', null],
    ]);
    expect(response.lastSeq).toBe(4);
    const stored = await db
      .select({ id: moodEntries.id, note: moodEntries.note })
      .from(moodEntries)
      .where(eq(moodEntries.userId, alice.userId));
    const notes = new Map(stored.map((r) => [r.id, r.note]));
    expect([before, nul, after].map((id) => notes.get(id))).toEqual(['plain', undefined, 'plain too']);
    expect(notes.get(lone)).toBe('half \ufffd a smile');
    const [recorded] = await db.select().from(mutationErrors).where(eq(mutationErrors.clientId, clientId));
    expect(recorded).toMatchObject({ seq: 2, code: 'invalid_args', args: { fields: { note: 'a\ufffdb' } } });
  });

  it('[PU4] rejects a mutator sent on another lane than its own, and moves past it', async () => {
    const { db } = database();
    const clientId = newId();
    const incidentId = newId();
    const response = await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [
        mutation(1, 'incident.trigger@1', {
          id: incidentId,
          code: 'LANE1',
          trigger: 'panic_button',
          triggeredAt: Date.now(),
        }),
      ]),
    );
    expect(response.results).toEqual([
      { seq: 1, status: 'rejected', code: 'wrong_lane', message: expect.stringMatching(/critical/) },
    ]);
    expect(response.lastSeq).toBe(1);
    expect(await db.select().from(emergencyIncidents).where(eq(emergencyIncidents.id, incidentId))).toEqual(
      [],
    );
  });

  describe('[PU5] transient failures', () => {
    // A database-side fault injector: a trigger that raises the SQLSTATE named in a mood note.
    beforeAll(async () => {
      const { db } = database();
      await db.execute(sql`
        create function vw_test_inject_fault() returns trigger language plpgsql as $$
        begin
          if new.note like 'fault:%' then
            raise exception 'injected fault' using errcode = substr(new.note, 7);
          end if;
          return new;
        end $$`);
      await db.execute(sql`
        create trigger vw_test_inject_fault before insert or update on mood_entries
        for each row execute function vw_test_inject_fault()`);
    });
    afterAll(async () => {
      const { db } = database();
      await db.execute(sql`drop trigger vw_test_inject_fault on mood_entries`);
      await db.execute(sql`drop function vw_test_inject_fault()`);
    });

    for (const code of ['40001', '40P01', '55P03']) {
      it(`[PU5] answers ${code} with 503 + Retry-After for the whole batch and writes nothing`, async () => {
        const { db } = database();
        const clientId = newId();
        const first = newId();
        const batch = pushBody(clientId, 'user', [
          mutation(1, 'mood.upsert@1', mood(first, `applied before the fault ${code}`)),
          mutation(2, 'mood.upsert@1', mood(newId(), `fault:${code}`)),
        ]);
        const versionBefore = await userVersion(db, alice.userId);
        const response = await post(server.app, '/sync/push', alice.token, batch);
        expect(response.statusCode).toBe(503);
        expect(response.headers['retry-after']).toMatch(/^\d+$/);
        expect(response.json()).toMatchObject({ error_code: 'temporarily_unavailable' });
        expect(await db.select().from(moodEntries).where(eq(moodEntries.id, first))).toEqual([]);
        expect(await laneSeq(db, clientId, 'user')).toBeUndefined();
        expect(await userVersion(db, alice.userId)).toBe(versionBefore);
        expect(await db.select().from(mutationErrors).where(eq(mutationErrors.clientId, clientId))).toEqual(
          [],
        );

        // The same batch, once the fault is gone, applies exactly once.
        const retry = await push(
          server.app,
          alice,
          pushBody(clientId, 'user', [
            batch.mutations[0]!,
            mutation(2, 'mood.upsert@1', mood(newId(), 'fine')),
          ]),
        );
        expect(retry.results.map((r) => r.status)).toEqual(['ok', 'ok']);
      });
    }
  });

  it("[PU6] binds a device id to the first account that pushes with it; another account can't use it", async () => {
    const { db } = database();
    const clientId = newId();
    await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [mutation(1, 'mood.upsert@1', mood(newId(), 'mine'))]),
    );
    for (const lane of ['critical', 'user', 'bulk'] as const) {
      const stolen = newId();
      const response = await post(
        server.app,
        '/sync/push',
        bob.token,
        pushBody(clientId, lane, [
          lane === 'critical'
            ? mutation(1, 'incident.trigger@1', {
                id: stolen,
                code: 'STEAL1',
                trigger: 'panic_button',
                triggeredAt: Date.now(),
              })
            : lane === 'user'
              ? mutation(1, 'mood.upsert@1', mood(stolen, 'not yours'))
              : mutation(1, 'samples.append@2', { kind: 1, t0: Date.now(), id: stolen, dt: [0], v: [60] }),
        ]),
      );
      expect(response.statusCode, lane).toBe(409);
      expect(response.json()).toMatchObject({ error_code: 'client_id_taken' });
    }
    expect(await moodNotes(db, bob.userId)).toEqual([]);
    const [bobRows] = await db
      .select({ n: count() })
      .from(syncClients)
      .where(eq(syncClients.userId, bob.userId));
    expect(bobRows?.n).toBe(0);
    expect(await laneSeq(db, clientId, 'user')).toBe(1);
  });

  it('[PU7] answers a client older than the minimum protocol with 426 update_required and writes nothing', async () => {
    const { db } = database();
    const clientId = newId();
    const old = {
      ...pushBody(clientId, 'user', [mutation(1, 'mood.upsert@1', mood(newId(), 'old'))]),
      protocolVersion: 0,
    };
    const response = await post(server.app, '/sync/push', alice.token, old);
    expect(response.statusCode).toBe(426);
    expect(response.json()).toMatchObject({
      error_code: 'update_required',
      message: expect.stringMatching(/kept/),
    });
    const newer = { ...old, protocolVersion: 99 };
    const tooNew = await post(server.app, '/sync/push', alice.token, newer);
    expect(tooNew.statusCode).toBe(409);
    expect(tooNew.json()).toMatchObject({ error_code: 'protocol_too_new' });
    expect(await laneSeq(db, clientId, 'user')).toBeUndefined();
    const pullOld = await post(server.app, '/sync/pull', alice.token, {
      protocolVersion: 0,
      clientId,
      cursor: 0,
    });
    expect(pullOld.statusCode).toBe(426);
  });

  it('[PU8] keeps a separate seq per lane, and the bulk lane stamps no version', async () => {
    const { db } = database();
    const clientId = newId();
    const critical = await push(
      server.app,
      alice,
      pushBody(clientId, 'critical', [
        mutation(1, 'incident.trigger@1', {
          id: newId(),
          code: 'LANES1',
          trigger: 'panic_button',
          triggeredAt: Date.now(),
        }),
      ]),
    );
    const user = await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [mutation(1, 'mood.upsert@1', mood(newId(), 'lanes'))]),
    );
    const versionBefore = await userVersion(db, alice.userId);
    const bulk = await push(
      server.app,
      alice,
      pushBody(clientId, 'bulk', [
        mutation(1, 'samples.append@2', { kind: 1, t0: Date.now(), id: newId(), dt: [0, 1000], v: [61, 62] }),
      ]),
    );
    expect([critical.lastSeq, user.lastSeq, bulk.lastSeq]).toEqual([1, 1, 1]);
    expect(bulk.results).toEqual([{ seq: 1, status: 'ok' }]);
    expect(await userVersion(db, alice.userId)).toBe(versionBefore);
    const [samples] = await db
      .select({ n: count() })
      .from(sensorReadings)
      .where(eq(sensorReadings.userId, alice.userId));
    expect(samples?.n).toBe(2);
  });

  it('[PU9] accepts gzip request bodies and answers gzip when asked', async () => {
    const clientId = newId();
    const ids = Array.from({ length: 40 }, () => newId());
    const batch = pushBody(
      clientId,
      'user',
      ids.map((id, i) => mutation(i + 1, 'mood.upsert@1', mood(id, `gzipped ${i}`))),
    );
    const response = await post(server.app, '/sync/push', alice.token, batch, {
      gzip: true,
      acceptGzip: true,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.headers.vary).toMatch(/accept-encoding/);
    const body = responseJson(response) as { results: unknown[] };
    expect(body.results).toHaveLength(40);
    // Without accept-encoding the same kind of answer is plain JSON.
    const plain = await post(server.app, '/sync/pull', alice.token, {
      protocolVersion: 1,
      clientId,
      cursor: 0,
    });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.json()).toMatchObject({ complete: true });
    const page = await pull(server.app, alice, { clientId, cursor: 0 }, { acceptGzip: true });
    expect(page.changes.length).toBeGreaterThan(40);
  });

  it('[PU9] refuses a gzip body that inflates past the limit (413) and one that is not gzip (400)', async () => {
    const zlib = await import('node:zlib');
    const bomb = zlib.gzipSync(Buffer.alloc(9 * 1024 * 1024, 0x20)); // 9 MiB of spaces, ~9 KB on the wire
    const tooBig = await server.app.inject({
      method: 'POST',
      url: '/sync/push',
      payload: bomb,
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        authorization: `Bearer ${alice.token}`,
      },
    });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json()).toMatchObject({ error_code: 'body_too_large' });
    const notGzip = await server.app.inject({
      method: 'POST',
      url: '/sync/push',
      payload: '{"protocolVersion":1}',
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        authorization: `Bearer ${alice.token}`,
      },
    });
    expect(notGzip.statusCode).toBe(400);
    expect(notGzip.json()).toMatchObject({ error_code: 'malformed_gzip' });
    const brotli = await server.app.inject({
      method: 'POST',
      url: '/sync/push',
      payload: zlib.brotliCompressSync('{}'),
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'br',
        authorization: `Bearer ${alice.token}`,
      },
    });
    expect(brotli.statusCode).toBe(415);
  });

  it('[PU3] keeps HLCs, the lane and the user in every recorded rejection (nothing a device sent is lost)', async () => {
    const { db } = database();
    const clientId = newId();
    const at = server.clock.ms;
    await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [
        { seq: 1, name: 'mood.upsert@1', args: { id: 'not-a-uuid' }, hlc: hlc(at), createdAt: at },
      ]),
    );
    const [recorded] = await db.select().from(mutationErrors).where(eq(mutationErrors.clientId, clientId));
    expect(recorded).toMatchObject({ seq: 1, code: 'invalid_args', args: { id: 'not-a-uuid' } });
  });
});
