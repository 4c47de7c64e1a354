import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import { moodEntries, userVersions } from '@vitalwatch/schema/db/tables';
import type { PullResponseV1 } from '@vitalwatch/schema/protocol/pull-response';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { purgeTombstones, TOMBSTONE_HORIZON_DAYS } from './purge-tombstones.ts';
import { runPull } from './run-pull.ts';
import {
  applyPages,
  mutation,
  pull,
  pullAll,
  push,
  pushBody,
  signUp,
  startSyncServer,
  type SyncServer,
  type TestUser,
} from '../../test/sync-test-kit.ts';

/** One device's outbox for the user lane: hands out seqs. */
function outbox(user: TestUser, server: () => SyncServer) {
  const clientId = newId();
  let seq = 0;
  return {
    clientId,
    async moods(count: number, note = 'pull test'): Promise<string[]> {
      const ids = Array.from({ length: count }, () => newId());
      await push(
        server().app,
        user,
        pushBody(
          clientId,
          'user',
          ids.map((id) =>
            mutation(++seq, 'mood.upsert@1', { id, recordedAt: Date.now(), fields: { mood: 4, note } }),
          ),
        ),
      );
      return ids;
    },
    async deleteMood(id: string) {
      await push(server().app, user, pushBody(clientId, 'user', [mutation(++seq, 'mood.delete@1', { id })]));
    },
  };
}

function versionsOf(page: PullResponseV1): number[] {
  return page.changes.map((c) => c.version);
}

describeOnEachDatabase('POST /sync/pull', (database, kind) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  it('[PL7] gives a device with nothing the default settings (version 0), and an idle device nothing', async () => {
    const user = await signUp(server.app);
    const first = await pull(server.app, user, { cursor: 0 });
    expect(first).toMatchObject({ reset: false, complete: true, cursor: 0 });
    expect(first.changes).toEqual([
      {
        op: 'put',
        table: 'user_settings',
        version: 0,
        row: expect.objectContaining({ id: user.userId, sosCountdownSeconds: 5, cancelPinSet: false }),
      },
    ]);
    await outbox(user, () => server).moods(2);
    const caughtUp = await pullAll(server.app, user, 0);
    const cursor = caughtUp.at(-1)!.cursor;
    expect(cursor).toBe(2);
    const idle = await pull(server.app, user, { cursor });
    expect(idle).toMatchObject({ reset: false, changes: [], cursor, complete: true });
  });

  it('[PL1] returns exactly the changes after the cursor, in version order, up to the version read in the same snapshot', async () => {
    const user = await signUp(server.app);
    const device = outbox(user, () => server);
    const early = await device.moods(3, 'early');
    const afterEarly = (await pullAll(server.app, user, 0)).at(-1)!.cursor;
    const late = await device.moods(2, 'late');
    const page = await pull(server.app, user, { cursor: afterEarly });
    expect(page.changes.map((c) => (c.op === 'put' ? c.row.id : c.id))).toEqual(late);
    expect(versionsOf(page)).toEqual([afterEarly + 1, afterEarly + 2]);
    expect(page.cursor).toBe(afterEarly + 2);
    expect(early).toHaveLength(3);
  });

  it('[PL1] hands out versions in commit order under concurrent pushes: cursor-chasing pulls end equal to a fresh pull', async () => {
    const user = await signUp(server.app);
    const devices = Array.from({ length: 4 }, () => outbox(user, () => server));
    const chased = new Map<string, Map<string, Record<string, unknown>>>();
    let cursor = 0;
    const pushes = Promise.all(
      devices.map(async (device) => {
        for (let i = 0; i < 5; i++) await device.moods(3);
      }),
    );
    let pushing = true;
    void pushes.finally(() => (pushing = false));
    while (pushing) {
      const pages = await pullAll(server.app, user, cursor, 4);
      applyPages(pages, chased);
      for (const page of pages)
        for (const change of page.changes) expect(change.version).toBeLessThanOrEqual(page.cursor);
      cursor = pages.at(-1)!.cursor;
    }
    await pushes;
    applyPages(await pullAll(server.app, user, cursor, 4), chased);
    const fresh = applyPages(await pullAll(server.app, user, 0));
    expect(chased.get('mood_entries')?.size).toBe(60);
    expect(chased).toEqual(fresh);
    const versions = [...fresh.get('mood_entries')!.values()]
      .map((row) => row.version as number)
      .sort((a, b) => a - b);
    expect(new Set(versions).size).toBe(60);
  });

  it('[PL2] pages by limit without ever splitting a version, and the pages add up to one full pull', async () => {
    const user = await signUp(server.app);
    await outbox(user, () => server).moods(10);
    const pages = await pullAll(server.app, user, 0, 3);
    expect(pages.length).toBeGreaterThanOrEqual(4);
    for (const page of pages.slice(0, -1)) expect(page.complete).toBe(false);
    for (const page of pages) expect(page.changes.length).toBeLessThanOrEqual(3);
    for (let i = 1; i < pages.length; i++) {
      const before = Math.max(...versionsOf(pages[i - 1]!), -1);
      for (const v of versionsOf(pages[i]!)) expect(v).toBeGreaterThan(before);
      expect(pages[i]!.cursor).toBeGreaterThanOrEqual(pages[i - 1]!.cursor);
    }
    expect(applyPages(pages)).toEqual(applyPages(await pullAll(server.app, user, 0)));

    // One version larger than the limit (an incident event changes the event and the incident) is sent whole.
    const clientId = newId();
    const incidentId = newId();
    await push(
      server.app,
      user,
      pushBody(clientId, 'critical', [
        mutation(1, 'incident.trigger@1', {
          id: incidentId,
          code: 'PAGE1',
          trigger: 'panic_button',
          triggeredAt: Date.now(),
        }),
        mutation(2, 'incident.event@1', { id: newId(), incidentId, type: 'acknowledged', at: Date.now() }),
      ]),
    );
    // The trigger's version no longer holds any row: the event moved the incident to the event's version.
    const cursor = pages.at(-1)!.cursor;
    const page = await pull(server.app, user, { cursor, limit: 1 });
    expect(page.changes.map((c) => c.table).sort()).toEqual(['emergency_incidents', 'incident_events']);
    expect(new Set(versionsOf(page)).size).toBe(1);
    expect(page.complete).toBe(true);
  });

  it('[PL3] sends a deletion as a tombstone to a device that had the row, and no tombstones to a device starting from nothing', async () => {
    const user = await signUp(server.app);
    const device = outbox(user, () => server);
    const [kept, deleted] = await device.moods(2);
    const cursor = (await pullAll(server.app, user, 0)).at(-1)!.cursor;
    await device.deleteMood(deleted!);
    const page = await pull(server.app, user, { cursor });
    expect(page.changes).toEqual([{ op: 'del', table: 'mood_entries', version: cursor + 1, id: deleted }]);
    const fresh = await pullAll(server.app, user, 0);
    const ids = fresh.flatMap((p) => p.changes.map((c) => (c.op === 'put' ? c.row.id : c.id)));
    expect(ids).toContain(kept);
    expect(ids).not.toContain(deleted);
    expect(fresh.flatMap((p) => p.changes).filter((c) => c.op === 'del')).toEqual([]);
  });

  // PGlite has one connection: nothing can commit between two statements of a transaction there, so only
  // Postgres can show that the page is read from one snapshot.
  it('[PL4] reads the version and every row of a page from one snapshot', async ({ skip }) => {
    if (kind === 'pglite') skip('PGlite has one connection: nothing can commit inside another transaction');
    const { db } = database();
    const user = await signUp(server.app);
    const device = outbox(user, () => server);
    const [doomed] = await device.moods(1);
    const cursor = (await pullAll(server.app, user, 0)).at(-1)!.cursor;
    await device.deleteMood(doomed!);
    await device.moods(1, 'also in this page');
    const page = await runPull(
      db,
      { sub: user.userId, role: 'authenticated' },
      { protocolVersion: 1, clientId: newId(), cursor },
      {
        // Between reading V and reading the rows, another connection commits: the tombstone is purged and a
        // new mood pushed. The page must still show the state as of V.
        afterVersionRead: async () => {
          await purgeTombstones(db, new Date(Date.now() + (TOMBSTONE_HORIZON_DAYS + 1) * 86_400_000));
          await device.moods(1, 'after the snapshot');
        },
      },
    );
    expect(page.changes.filter((c) => c.op === 'del').map((c) => (c.op === 'del' ? c.id : ''))).toEqual([
      doomed,
    ]);
    const notes = page.changes.map((c) => (c.op === 'put' ? c.row.note : null));
    expect(notes).toContain('also in this page');
    expect(notes).not.toContain('after the snapshot');
    expect(page.cursor).toBe(cursor + 2);
  });

  it('[PL5] resets a device whose cursor is below the purge horizon (or above the server), once', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const device = outbox(user, () => server);
    const [kept, doomed] = await device.moods(2);
    const oldCursor = (await pullAll(server.app, user, 0)).at(-1)!.cursor;
    await device.deleteMood(doomed!);
    await device.moods(1, 'newer');

    const purged = await purgeTombstones(
      db,
      new Date(Date.now() + (TOMBSTONE_HORIZON_DAYS + 1) * 86_400_000),
    );
    expect(purged).toBeGreaterThanOrEqual(1);
    const [state] = await db.select().from(userVersions).where(eq(userVersions.userId, user.userId));
    expect(state?.purgedThrough).toBe(oldCursor + 1);
    expect(await db.select().from(moodEntries).where(eq(moodEntries.id, doomed!))).toEqual([]);

    const pages = await pullAll(server.app, user, oldCursor, 1);
    expect(pages[0]!.reset).toBe(true);
    expect(pages.slice(1).every((p) => !p.reset)).toBe(true);
    expect(pages[0]!.cursor).toBeGreaterThanOrEqual(state!.purgedThrough);
    const rebuilt = applyPages(pages, new Map([['mood_entries', new Map([[doomed!, { id: doomed }]])]]));
    expect([...rebuilt.get('mood_entries')!.keys()].sort()).toEqual(
      [
        kept!,
        ...[
          ...(applyPages(await pullAll(server.app, user, 0))
            .get('mood_entries')
            ?.keys() ?? []),
        ],
      ]
        .filter((id, i, all) => all.indexOf(id) === i)
        .sort(),
    );
    expect(rebuilt.get('mood_entries')?.has(doomed!)).toBe(false);

    // A cursor at or past the horizon is fine; a cursor beyond the server's version is a reset too.
    expect((await pull(server.app, user, { cursor: state!.purgedThrough })).reset).toBe(false);
    expect((await pull(server.app, user, { cursor: state!.version + 100 })).reset).toBe(true);
  });

  it("[PL6] puts rows on the wire in their ROW_SCHEMAS shapes, with no server-only column and nobody else's rows", async () => {
    const alice = await signUp(server.app);
    const bob = await signUp(server.app);
    await outbox(alice, () => server).moods(2, "alice's");
    const clientId = newId();
    const incidentId = newId();
    await push(
      server.app,
      alice,
      pushBody(clientId, 'critical', [
        mutation(1, 'incident.trigger@1', {
          id: incidentId,
          code: 'SHAPE1',
          trigger: 'panic_button',
          triggeredAt: Date.now(),
        }),
        mutation(2, 'incident.event@1', {
          id: newId(),
          incidentId,
          type: 'cancelled',
          at: Date.now(),
          duress: true,
        }),
      ]),
    );
    // The kit parses every row with its strict ROW_SCHEMAS shape: an extra column would fail there.
    const pages = await pullAll(server.app, alice, 0);
    const keys = new Set(
      pages.flatMap((p) => p.changes.flatMap((c) => (c.op === 'put' ? Object.keys(c.row) : []))),
    );
    for (const serverOnly of [
      'silentEscalation',
      'duress',
      'cancelPinHash',
      'duressPinHash',
      'deviceContext',
      'userId',
    ]) {
      expect(keys.has(serverOnly), serverOnly).toBe(false);
    }
    const incident = pages.flatMap((p) => p.changes).find((c) => c.table === 'emergency_incidents');
    expect(incident).toMatchObject({ op: 'put', row: { status: 'cancelled' } });
    const bobs = await pullAll(server.app, bob, 0);
    const bobIds = bobs.flatMap((p) => p.changes.map((c) => (c.op === 'put' ? c.row.id : c.id)));
    expect(bobIds).toEqual([bob.userId]);
  });
});
