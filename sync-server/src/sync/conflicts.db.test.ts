import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import {
  contactMerges,
  copingToolsUsage,
  emergencyContacts,
  emergencyIncidents,
  incidentEvents,
  moodEntries,
  moodRevisions,
  mutationErrors,
  sensorReadings,
  userSettings,
} from '@vitalwatch/schema/db/tables';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import type { MutatorArgs, MutatorName } from '@vitalwatch/schema/protocol/mutators';
import type { MutationResult } from '@vitalwatch/schema/protocol/push-response';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { HLC_MAX_DRIFT_MS } from '@vitalwatch/schema/protocol/hlc';
import { sampleIds } from '@vitalwatch/schema/protocol/sample-ids';
import {
  applyPages,
  hlc,
  mutation,
  pullAll,
  push,
  pushBody,
  signUp,
  startSyncServer,
  type SyncServer,
  type TestUser,
} from '../../test/sync-test-kit.ts';

/** A device of `user`: its own client id, a seq per lane, and an HLC node id. */
function device(server: () => SyncServer, user: TestUser, node: string) {
  const clientId = newId();
  const seqs: Record<Lane, number> = { critical: 0, user: 0, bulk: 0 };
  return {
    clientId,
    async send<N extends MutatorName>(
      lane: Lane,
      name: N,
      args: MutatorArgs<N>,
      at?: number,
    ): Promise<MutationResult> {
      const ms = at ?? server().clock.ms;
      seqs[lane] += 1;
      const response = await push(
        server().app,
        user,
        pushBody(clientId, lane, [
          mutation(seqs[lane], name, args, { hlc: hlc(ms, 0, node), createdAt: ms }),
        ]),
      );
      const [result] = response.results;
      if (result === undefined) throw new Error('no result');
      return result;
    },
  };
}

async function pulled(server: SyncServer, user: TestUser) {
  return applyPages(await pullAll(server.app, user, 0));
}

describeOnEachDatabase('conflict rules', (database) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  it('[CF1] keeps sensor samples immutable and idempotent by id, and never pulls them', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const phone = device(() => server, user, 'a1');
    const ids = [newId(), newId(), newId()];
    const t0 = server.clock.ms;
    expect(
      await phone.send('bulk', 'samples.append@1', {
        kind: 1,
        t0,
        ids,
        dt: [0, 1000, 1000],
        v: [60, 61, 62],
      }),
    ).toMatchObject({ status: 'ok' });
    // The same samples re-sent under a new seq (a client that lost its ack), with one new one and a changed value.
    const extra = newId();
    expect(
      await phone.send('bulk', 'samples.append@1', {
        kind: 1,
        t0,
        ids: [...ids, extra],
        dt: [0, 1000, 1000, 1000],
        v: [99, 99, 99, 63],
      }),
    ).toMatchObject({ status: 'ok' });
    const rows = await db
      .select({ id: sensorReadings.id, value: sensorReadings.value, at: sensorReadings.recordedAt })
      .from(sensorReadings)
      .where(eq(sensorReadings.userId, user.userId))
      .orderBy(sensorReadings.recordedAt);
    expect(rows.map((r) => r.value)).toEqual([60, 61, 62, 63]);
    expect(rows.map((r) => r.at.getTime() - t0)).toEqual([0, 1000, 2000, 3000]);
    const tables = new Set(
      (await pullAll(server.app, user, 0)).flatMap((p) => p.changes.map((c) => c.table)),
    );
    expect([...tables]).toEqual(['user_settings']);
  });

  it('[CF13] samples.append@2 carries one id per batch; the server derives each sample id, so a re-sent batch inserts nothing', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const phone = device(() => server, user, 'a13');
    const t0 = server.clock.ms;
    const batch = { kind: 1, t0, id: newId(), dt: [0, 1000, 1000, 0], v: [60, 61, 62, 63] };
    const rowsOf = () =>
      db
        .select({ id: sensorReadings.id, value: sensorReadings.value, at: sensorReadings.recordedAt })
        .from(sensorReadings)
        .where(eq(sensorReadings.userId, user.userId))
        .orderBy(sensorReadings.id);
    expect(await phone.send('bulk', 'samples.append@2', batch)).toMatchObject({ status: 'ok' });
    const first = await rowsOf();
    const expectedIds = sampleIds(batch.id, t0, batch.dt);
    expect(first).toEqual(
      expectedIds.map((id, i) => ({ id, value: batch.v[i], at: new Date(t0 + [0, 1000, 2000, 2000][i]!) })),
    );
    // The same batch re-sent under a new seq (a client that lost its ack), even with changed values: 0 new rows.
    expect(await phone.send('bulk', 'samples.append@2', { ...batch, v: [99, 99, 99, 99] })).toMatchObject({
      status: 'ok',
    });
    expect(await rowsOf()).toEqual(first);
    // Another batch over the same times gets its own ids.
    expect(await phone.send('bulk', 'samples.append@2', { ...batch, id: newId() })).toMatchObject({
      status: 'ok',
    });
    expect(await rowsOf()).toHaveLength(8);

    // Bad arguments are refused with a message naming the problem, writing nothing.
    const tooLate = await phone.send('bulk', 'samples.append@2', {
      ...batch,
      id: newId(),
      t0: 2 ** 48 - 1,
      dt: [0, 1],
      v: [1, 2],
    });
    expect(tooLate).toMatchObject({ status: 'rejected', code: 'invalid_args' });
    expect(tooLate).toHaveProperty('message', expect.stringMatching(/year 10889/));
    const uneven = await phone.send('bulk', 'samples.append@2', { ...batch, id: newId(), v: [1] });
    expect(uneven).toHaveProperty('message', expect.stringMatching(/dt and v must have the same length/));
    const perSample = await phone.send('bulk', 'samples.append@2', {
      ...batch,
      ids: expectedIds,
    } as MutatorArgs<'samples.append@2'>);
    expect(perSample).toMatchObject({ status: 'rejected', code: 'invalid_args' });
    const empty = await phone.send('bulk', 'samples.append@2', { ...batch, id: newId(), dt: [], v: [] });
    expect(empty).toMatchObject({ status: 'rejected', code: 'invalid_args' });
    expect(await rowsOf()).toHaveLength(8);
  });

  it('[CF2] always creates an incident: a re-sent trigger is a no-op, and a clashing short code gets a fresh one', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const phone = device(() => server, user, 'a2');
    const first = newId();
    const second = newId();
    const trigger = {
      code: 'HELP42',
      trigger: 'panic_button' as const,
      triggeredAt: server.clock.ms - 60_000,
    };
    expect(await phone.send('critical', 'incident.trigger@1', { id: first, ...trigger })).toMatchObject({
      status: 'ok',
    });
    const [before] = await db.select().from(emergencyIncidents).where(eq(emergencyIncidents.id, first));
    expect(await phone.send('critical', 'incident.trigger@1', { id: first, ...trigger })).toMatchObject({
      status: 'ok',
    });
    const [after] = await db.select().from(emergencyIncidents).where(eq(emergencyIncidents.id, first));
    expect(after).toEqual(before);
    expect(after?.triggeredAt.getTime()).toBe(trigger.triggeredAt);
    expect(after?.receivedAt.getTime()).toBe(server.clock.ms);

    expect(await phone.send('critical', 'incident.trigger@1', { id: second, ...trigger })).toMatchObject({
      status: 'ok',
    });
    const incidents = (await pulled(server, user)).get('emergency_incidents')!;
    expect(incidents.get(first)?.code).toBe('HELP42');
    expect(incidents.get(second)?.code).toMatch(/^[A-Z0-9]{4,8}$/);
    expect(incidents.get(second)?.code).not.toBe('HELP42');

    const orphan = await phone.send('critical', 'incident.event@1', {
      id: newId(),
      incidentId: newId(),
      type: 'location',
      at: server.clock.ms,
    });
    expect(orphan).toMatchObject({ status: 'rejected', code: 'unknown_incident' });
  });

  it('[CF3] folds incident events through the state machine: terminal states absorb, illegal transitions are kept and reported', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const phone = device(() => server, user, 'a3');
    const incidentId = newId();
    const t = server.clock.ms;
    await phone.send('critical', 'incident.trigger@1', {
      id: incidentId,
      code: 'FOLD1',
      trigger: 'fall_detected',
      triggeredAt: t,
    });
    const event = (
      type: MutatorArgs<'incident.event@1'>['type'],
      at: number,
      extra: Partial<MutatorArgs<'incident.event@1'>> = {},
    ) => phone.send('critical', 'incident.event@1', { id: newId(), incidentId, type, at, ...extra });

    expect(
      await event('location', t + 1, { location: { lat: 51.5, lng: -0.12, accuracyM: 8, at: t + 1 } }),
    ).toMatchObject({ status: 'ok' });
    expect(await event('sms_composer_opened', t + 2, { contactIds: [newId()] })).toMatchObject({
      status: 'ok',
    });
    expect(await event('acknowledged', t + 3)).toMatchObject({ status: 'ok' });
    const twice = await event('acknowledged', t + 4);
    expect(twice).toMatchObject({
      status: 'rejected',
      code: 'illegal_transition',
      message: expect.stringMatching(/already acknowledged/),
    });
    expect(await event('resolved', t + 5)).toMatchObject({ status: 'ok' });
    expect(await event('location', t + 6, { location: { lat: 1, lng: 1, at: t + 6 } })).toMatchObject({
      status: 'ok',
    });
    expect(await event('cancelled', t + 7)).toMatchObject({ status: 'ok' });

    const view = await pulled(server, user);
    expect(view.get('emergency_incidents')?.get(incidentId)).toMatchObject({
      status: 'resolved',
      acknowledgedAt: t + 3,
      resolvedAt: t + 5,
      latitude: 51.5,
      longitude: -0.12,
      locatedAt: t + 1,
    });
    const events = [...view.get('incident_events')!.values()].sort(
      (a, b) => (a.at as number) - (b.at as number),
    );
    expect(events.map((e) => [e.type, e.outcome])).toEqual([
      ['location', 'applied'],
      ['sms_composer_opened', 'applied'],
      ['acknowledged', 'applied'],
      ['acknowledged', 'illegal'],
      ['resolved', 'applied'],
      ['location', 'absorbed'],
      ['cancelled', 'absorbed'],
    ]);
    const [errors] = await db
      .select({ n: count() })
      .from(mutationErrors)
      .where(and(eq(mutationErrors.userId, user.userId), eq(mutationErrors.code, 'illegal_transition')));
    expect(errors?.n).toBe(1);
  });

  it('[CF4] makes a duress cancel look exactly like a cancel on the device, and escalates silently on the server', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const phone = device(() => server, user, 'a4');
    const plain = newId();
    const duress = newId();
    const t = server.clock.ms;
    const answers = [];
    for (const [id, isDuress] of [
      [plain, false],
      [duress, true],
    ] as const) {
      await phone.send('critical', 'incident.trigger@1', {
        id,
        code: isDuress ? 'DURESS' : 'PLAIN1',
        trigger: 'panic_button',
        triggeredAt: t,
      });
      answers.push(
        await phone.send('critical', 'incident.event@1', {
          id: newId(),
          incidentId: id,
          type: 'cancelled',
          at: t + 1,
          ...(isDuress && { duress: true }),
        }),
      );
      answers.push(
        await phone.send('critical', 'incident.event@1', {
          id: newId(),
          incidentId: id,
          type: 'location',
          at: t + 2,
          location: { lat: 10, lng: 10, at: t + 2 },
        }),
      );
    }
    expect(answers.map((a) => a.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const incidents = (await pulled(server, user)).get('emergency_incidents')!;
    const strip = (row: Record<string, unknown> | undefined) => {
      const { id: _id, code: _code, version: _version, ...rest } = row ?? {};
      return rest;
    };
    expect(strip(incidents.get(duress))).toEqual(strip(incidents.get(plain)));
    const server_ = await db
      .select({ id: emergencyIncidents.id, silent: emergencyIncidents.silentEscalation })
      .from(emergencyIncidents)
      .where(eq(emergencyIncidents.userId, user.userId));
    expect(Object.fromEntries(server_.map((r) => [r.id, r.silent]))).toEqual({
      [plain]: false,
      [duress]: true,
    });
    const stored = await db
      .select()
      .from(incidentEvents)
      .where(eq(incidentEvents.incidentId, duress))
      .orderBy(incidentEvents.at);
    expect(stored.map((e) => [e.type, e.duress, e.latitude])).toEqual([
      ['cancelled', true, null],
      ['location', false, 10],
    ]);
  });

  it('[CF5] resolves concurrent mood edits field by field, by HLC; an older edit loses and a replay changes nothing', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const a = device(() => server, user, 'a5');
    const b = device(() => server, user, 'b5');
    const id = newId();
    const t = server.clock.ms - 10_000;
    await a.send(
      'user',
      'mood.upsert@1',
      { id, recordedAt: t, fields: { mood: 3, note: 'first', energy: 2 } },
      t,
    );
    await a.send('user', 'mood.upsert@1', { id, recordedAt: t, fields: { note: 'from A' } }, t + 2000);
    // B edited offline a moment before A's note edit, then syncs late: its energy wins, its note loses.
    await b.send(
      'user',
      'mood.upsert@1',
      { id, recordedAt: t, fields: { energy: 5, note: 'from B' } },
      t + 1000,
    );
    // An edit that carries another recordedAt (the protocol requires one) does not move the entry in time.
    await b.send(
      'user',
      'mood.upsert@1',
      { id, recordedAt: t - 86_400_000, fields: { anxiety: 2 } },
      t + 500,
    );
    const [row] = await db.select().from(moodEntries).where(eq(moodEntries.id, id));
    expect(row).toMatchObject({
      mood: 3,
      note: 'from A',
      energy: 5,
      anxiety: 2,
      hlc: hlc(t + 2000, 0, 'a5'),
    });
    expect(row?.recordedAt.getTime()).toBe(t);
    const version = row!.version;
    // A replay under a new seq with the same HLC: no field wins, nothing changes, not even the version.
    await a.send('user', 'mood.upsert@1', { id, recordedAt: t, fields: { note: 'from A' } }, t + 2000);
    const [again] = await db.select().from(moodEntries).where(eq(moodEntries.id, id));
    expect(again?.version).toBe(version);
    expect((await pulled(server, user)).get('mood_entries')?.get(id)).toMatchObject({
      note: 'from A',
      energy: 5,
      mood: 3,
    });
  });

  it("[CF6] clamps an HLC's physical part to server time + 5 min, so a clock far ahead can't win forever", async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const fast = device(() => server, user, 'f6');
    const honest = device(() => server, user, 'c6');
    const id = newId();
    const now = server.clock.ms;
    await honest.send(
      'user',
      'mood.upsert@1',
      { id, recordedAt: now, fields: { mood: 2, note: 'honest' } },
      now,
    );
    const year2100 = Date.UTC(2100, 0, 1);
    await fast.send(
      'user',
      'mood.upsert@1',
      { id, recordedAt: now, fields: { note: 'from the future' } },
      year2100,
    );
    const [clamped] = await db.select().from(moodEntries).where(eq(moodEntries.id, id));
    expect(clamped).toMatchObject({ note: 'from the future', hlc: hlc(now + HLC_MAX_DRIFT_MS, 0, 'f6') });
    server.clock.ms = now + HLC_MAX_DRIFT_MS + 60_000;
    try {
      await honest.send(
        'user',
        'mood.upsert@1',
        { id, recordedAt: now, fields: { note: 'honest again' } },
        server.clock.ms,
      );
    } finally {
      server.clock.ms = now;
    }
    const [after] = await db.select().from(moodEntries).where(eq(moodEntries.id, id));
    expect(after?.note).toBe('honest again');
  });

  it('[CF7] keeps the previous values of every mood overwrite as a revision', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const a = device(() => server, user, 'a7');
    const id = newId();
    const t = server.clock.ms - 10_000;
    await a.send(
      'user',
      'mood.upsert@1',
      { id, recordedAt: t, fields: { mood: 2, note: 'v1', emotions: ['tired'] } },
      t,
    );
    await a.send('user', 'mood.upsert@1', { id, recordedAt: t, fields: { note: 'v2' } }, t + 1);
    await a.send(
      'user',
      'mood.upsert@1',
      { id, recordedAt: t, fields: { note: 'v3', mood: 4, emotions: ['tired'] } },
      t + 2,
    );
    const revisions = await db
      .select()
      .from(moodRevisions)
      .where(eq(moodRevisions.moodEntryId, id))
      .orderBy(moodRevisions.replacedAtVersion);
    expect(revisions.map((r) => [r.previous, r.replacedByHlc])).toEqual([
      [{ note: { value: 'v1', hlc: hlc(t, 0, 'a7') } }, hlc(t + 1, 0, 'a7')],
      [
        { note: { value: 'v2', hlc: hlc(t + 1, 0, 'a7') }, mood: { value: 2, hlc: hlc(t, 0, 'a7') } },
        hlc(t + 2, 0, 'a7'),
      ],
    ]);
  });

  it('[CF8] makes deletes tombstones that win: a later edit of a deleted mood or contact is rejected and kept', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const a = device(() => server, user, 'a8');
    const b = device(() => server, user, 'b8');
    const id = newId();
    const t = server.clock.ms;
    await a.send('user', 'mood.upsert@1', { id, recordedAt: t, fields: { mood: 3 } }, t);
    expect(await a.send('user', 'mood.delete@1', { id }, t + 1)).toMatchObject({ status: 'ok' });
    const [tombstone] = await db.select().from(moodEntries).where(eq(moodEntries.id, id));
    expect(tombstone?.deletedAt?.getTime()).toBe(t);
    const edit = await b.send(
      'user',
      'mood.upsert@1',
      { id, recordedAt: t, fields: { note: 'edited offline' } },
      t + 5,
    );
    expect(edit).toMatchObject({
      status: 'rejected',
      code: 'deleted',
      message: expect.stringMatching(/deleted on another device/),
    });
    expect(await a.send('user', 'mood.delete@1', { id }, t + 6)).toMatchObject({ status: 'ok' });
    const [still] = await db.select().from(moodEntries).where(eq(moodEntries.id, id));
    expect(still?.version).toBe(tombstone?.version);
    const [kept] = await db
      .select()
      .from(mutationErrors)
      .where(and(eq(mutationErrors.clientId, b.clientId), eq(mutationErrors.code, 'deleted')));
    expect(kept?.args).toMatchObject({ fields: { note: 'edited offline' } });

    const contact = newId();
    await a.send('user', 'contact.upsert@1', {
      id: contact,
      fields: { name: 'Sam' },
      phoneE164: '+15550100001',
      expectedPhoneE164: null,
    });
    await a.send('user', 'contact.delete@1', { id: contact, expectedPhoneE164: '+15550100001' });
    expect(
      await b.send('user', 'contact.upsert@1', { id: contact, fields: { notes: 'late' } }),
    ).toMatchObject({ status: 'rejected', code: 'deleted' });
    expect((await pulled(server, user)).get('emergency_contacts')?.has(contact) ?? false).toBe(false);
  });

  it('[CF9] compare-and-swaps phone changes and deletes; names and notes are last-writer-wins', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const a = device(() => server, user, 'a9');
    const b = device(() => server, user, 'b9');
    const id = newId();
    const t = server.clock.ms - 10_000;
    const p1 = '+447700900001';
    const p2 = '+447700900002';
    await a.send(
      'user',
      'contact.upsert@1',
      { id, fields: { name: 'Dad', tier: 1 }, phoneE164: p1, expectedPhoneE164: null },
      t,
    );
    expect(
      await b.send(
        'user',
        'contact.upsert@1',
        { id, fields: {}, phoneE164: p2, expectedPhoneE164: p1 },
        t + 1,
      ),
    ).toMatchObject({ status: 'ok' });
    // A still thinks the number is p1.
    const stale = await a.send(
      'user',
      'contact.upsert@1',
      { id, fields: { name: 'Father' }, phoneE164: '+447700900003', expectedPhoneE164: p1 },
      t + 2,
    );
    expect(stale).toMatchObject({
      status: 'rejected',
      code: 'conflict',
      message: expect.stringContaining(p2),
    });
    const staleDelete = await a.send('user', 'contact.delete@1', { id, expectedPhoneE164: p1 }, t + 3);
    expect(staleDelete).toMatchObject({
      status: 'rejected',
      code: 'conflict',
      message: expect.stringContaining(p2),
    });
    let [row] = await db.select().from(emergencyContacts).where(eq(emergencyContacts.id, id));
    expect(row).toMatchObject({ phoneE164: p2, name: 'Dad', deletedAt: null });

    // Field LWW: the newer name wins whatever the arrival order; a different field from the other device joins.
    await a.send('user', 'contact.upsert@1', { id, fields: { name: 'Papa' } }, t + 20);
    await b.send('user', 'contact.upsert@1', { id, fields: { name: 'Pops', notes: 'call after 6' } }, t + 10);
    [row] = await db.select().from(emergencyContacts).where(eq(emergencyContacts.id, id));
    expect(row).toMatchObject({ name: 'Papa', notes: 'call after 6' });

    expect(await a.send('user', 'contact.delete@1', { id, expectedPhoneE164: p2 }, t + 30)).toMatchObject({
      status: 'ok',
    });
    [row] = await db.select().from(emergencyContacts).where(eq(emergencyContacts.id, id));
    expect(row?.deletedAt).not.toBeNull();
  });

  it('[CF10] merges the same number created as two contacts: ok, the later id becomes a tombstone, later edits follow it', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const a = device(() => server, user, 'a10');
    const b = device(() => server, user, 'b10');
    const mum = newId();
    const mother = newId();
    const phone = '+15550100010';
    const t = server.clock.ms - 10_000;
    await a.send(
      'user',
      'contact.upsert@1',
      { id: mum, fields: { name: 'Mum', tier: 1 }, phoneE164: phone, expectedPhoneE164: null },
      t,
    );
    const before = (await pullAll(server.app, user, 0)).at(-1)!.cursor;
    const merged = await b.send(
      'user',
      'contact.upsert@1',
      {
        id: mother,
        fields: { name: 'Mother', notes: 'has a key' },
        phoneE164: phone,
        expectedPhoneE164: null,
      },
      t + 1,
    );
    expect(merged).toEqual({ seq: 1, status: 'ok' });
    const changes = (await pullAll(server.app, user, before)).flatMap((p) => p.changes);
    expect(changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ op: 'del', table: 'emergency_contacts', id: mother }),
        expect.objectContaining({
          op: 'put',
          table: 'emergency_contacts',
          row: expect.objectContaining({ id: mum, name: 'Mother', notes: 'has a key', phoneE164: phone }),
        }),
      ]),
    );
    expect(await db.select().from(contactMerges).where(eq(contactMerges.mergedId, mother))).toEqual([
      expect.objectContaining({ survivorId: mum, userId: user.userId }),
    ]);
    // B still knows the contact by its own id.
    expect(
      await b.send('user', 'contact.upsert@1', { id: mother, fields: { tier: 2 } }, t + 2),
    ).toMatchObject({ status: 'ok' });
    const contacts = (await pulled(server, user)).get('emergency_contacts')!;
    expect([...contacts.keys()]).toEqual([mum]);
    expect(contacts.get(mum)).toMatchObject({ tier: 2, name: 'Mother' });
    expect(
      await b.send('user', 'contact.delete@1', { id: mother, expectedPhoneE164: phone }, t + 3),
    ).toMatchObject({ status: 'ok' });
    expect((await pulled(server, user)).get('emergency_contacts')?.size ?? 0).toBe(0);
  });

  it('[CF11] resolves settings field by field, by HLC, and refuses a combination the database forbids', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const a = device(() => server, user, 'a11');
    const b = device(() => server, user, 'b11');
    const t = server.clock.ms - 10_000;
    await a.send('user', 'settings.update@1', { fields: { sosCountdownSeconds: 10 } }, t + 2);
    await b.send(
      'user',
      'settings.update@1',
      { fields: { sosCountdownSeconds: 3, shareMediaWithContacts: true } },
      t + 1,
    );
    const bad = await b.send(
      'user',
      'settings.update@1',
      { fields: { escalateTier2AfterSeconds: 600, escalateAllAfterSeconds: 300 } },
      t + 3,
    );
    expect(bad).toMatchObject({ status: 'rejected', code: 'invalid_args' });
    const [row] = await db.select().from(userSettings).where(eq(userSettings.userId, user.userId));
    expect(row).toMatchObject({
      sosCountdownSeconds: 10,
      shareMediaWithContacts: true,
      escalateTier2AfterSeconds: 120,
    });
    expect((await pulled(server, user)).get('user_settings')?.get(user.userId)).toMatchObject({
      sosCountdownSeconds: 10,
      shareMediaWithContacts: true,
    });
  });

  it('[CF12] logs a coping-tool use once per id, however often it is sent', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const a = device(() => server, user, 'a12');
    const id = newId();
    const use = {
      id,
      tool: 'box_breathing',
      startedAt: server.clock.ms,
      durationSeconds: 120,
      completed: true,
      helpfulness: 4,
    };
    expect(await a.send('user', 'coping.log@1', use)).toMatchObject({ status: 'ok' });
    expect(await a.send('user', 'coping.log@1', { ...use, helpfulness: 1 })).toMatchObject({ status: 'ok' });
    const rows = await db.select().from(copingToolsUsage).where(eq(copingToolsUsage.userId, user.userId));
    expect(rows.map((r) => r.helpfulness)).toEqual([4]);
  });
});
