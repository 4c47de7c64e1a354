import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import { MAX_SKIP_RANGES } from '@vitalwatch/schema/protocol/pull-request';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { purgeTombstones } from './purge-tombstones.ts';
import {
  hlc,
  mutation,
  post,
  pull,
  pullAll,
  push,
  pushBody,
  signUp,
  startSyncServer,
  type SyncServer,
  type TestUser,
} from '../../test/sync-test-kit.ts';

const moodArgs = (fields: { mood?: number; sleepHours?: number; note?: string } = { mood: 3 }) => ({
  id: newId(),
  recordedAt: Date.UTC(2026, 10, 20, 8),
  fields,
});

describeOnEachDatabase('own rows are not echoed (protocol 4)', (database) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  /** Every change after `cursor` as the pull sends it, table/id → row. */
  async function rowsAfter(user: TestUser, cursor: number, skip?: Array<[number, number]>) {
    const pages = [];
    for (let guard = 0; guard < 100; guard++) {
      const page = await pull(server.app, user, { cursor, ...(skip !== undefined && { skip }) });
      pages.push(page);
      if (page.complete) break;
      cursor = page.cursor;
    }
    return pages.flatMap((p) => p.changes);
  }

  it('[PU12] an ok for a row created exactly as sent carries its version, and the push its time', async () => {
    const user = await signUp(server.app);
    const clientId = newId();
    const created = moodArgs({ mood: 4, sleepHours: 7.5, note: 'as sent' });
    const coping = {
      id: newId(),
      tool: 'box_breathing',
      startedAt: Date.UTC(2026, 10, 20, 9),
      completed: true,
    };
    const response = await push(
      server.app,
      user,
      pushBody(clientId, 'user', [
        mutation(1, 'mood.upsert@1', created),
        mutation(2, 'coping.log@1', coping),
        // An edit of an existing entry: the server merged it, the device cannot know the row.
        mutation(3, 'mood.upsert@1', { ...created, fields: { energy: 2 } }),
        // float4 keeps 7.123457, not what the device holds.
        mutation(4, 'mood.upsert@1', moodArgs({ mood: 2, sleepHours: 7.123456789 })),
        // An HLC far ahead is clamped, so the stored row differs.
        mutation(5, 'mood.upsert@1', moodArgs(), { hlc: hlc(Date.now() + 86_400_000) }),
        // Logged again under the same id: nothing created.
        mutation(6, 'coping.log@1', coping),
      ]),
    );
    expect(response.at).toBeTypeOf('number');
    expect(response.results).toEqual([
      { seq: 1, status: 'ok', v: 1 },
      { seq: 2, status: 'ok', v: 2 },
      { seq: 3, status: 'ok' },
      { seq: 4, status: 'ok' },
      { seq: 5, status: 'ok' },
      { seq: 6, status: 'ok' },
    ]);
    // What the server holds for the coping use at `v` is the device's row, stamped.
    const changes = await rowsAfter(user, 0);
    const copingRow = changes.find((c) => c.op === 'put' && c.table === 'coping_tools_usage');
    expect(copingRow).toMatchObject({
      version: 2,
      row: { id: coping.id, version: 2, tool: 'box_breathing', durationSeconds: null, completed: true },
    });
  });

  it('[PU12] the row at version v is the device’s row with that version and the push’s time; protocol 3 gets neither', async () => {
    const user = await signUp(server.app);
    const args = moodArgs({ mood: 5, note: 'hello' });
    const at = Date.now();
    const response = await push(
      server.app,
      user,
      pushBody(newId(), 'user', [mutation(1, 'mood.upsert@1', args, { createdAt: at, hlc: hlc(at) })]),
    );
    const v = response.results[0]?.status === 'ok' ? response.results[0].v : undefined;
    expect(v).toBe(1);
    const [change] = await rowsAfter(user, 0).then((c) => c.filter((x) => x.table === 'mood_entries'));
    expect(change).toEqual({
      op: 'put',
      table: 'mood_entries',
      version: v,
      row: {
        id: args.id,
        version: v,
        recordedAt: args.recordedAt,
        mood: 5,
        energy: null,
        anxiety: null,
        sleepHours: null,
        emotions: [],
        note: 'hello',
        hlc: hlc(at),
        updatedAt: response.at,
      },
    });

    const old = await post(server.app, '/sync/push', user.token, {
      ...pushBody(newId(), 'user', [mutation(1, 'mood.upsert@1', moodArgs())]),
      protocolVersion: 3,
    });
    expect(old.statusCode).toBe(200);
    const body = old.json<Record<string, unknown>>();
    expect(body).not.toHaveProperty('at');
    expect(body.results).toEqual([{ seq: 1, status: 'ok' }]);
  });

  it('[PU12] a run the database refuses is applied one by one and still reports its creates', async () => {
    const other = await signUp(server.app);
    const taken = moodArgs();
    await push(server.app, other, pushBody(newId(), 'user', [mutation(1, 'mood.upsert@1', taken)]));
    const user = await signUp(server.app);
    const response = await push(
      server.app,
      user,
      pushBody(newId(), 'user', [
        mutation(1, 'mood.upsert@1', moodArgs()),
        mutation(2, 'mood.upsert@1', taken),
        mutation(3, 'mood.upsert@1', moodArgs()),
      ]),
    );
    expect(response.results.map((r) => ({ status: r.status, v: 'v' in r ? r.v : undefined }))).toEqual([
      { status: 'ok', v: 1 },
      { status: 'rejected', v: undefined },
      { status: 'ok', v: 3 },
    ]);
  });

  it('[PL11] a pull leaves out rows still at a skipped version, and sends them once changed', async () => {
    const user = await signUp(server.app);
    const device = newId();
    const [a, b, c] = [moodArgs(), moodArgs(), moodArgs()];
    await push(
      server.app,
      user,
      pushBody(device, 'user', [
        mutation(1, 'mood.upsert@1', a),
        mutation(2, 'mood.upsert@1', b),
        mutation(3, 'mood.upsert@1', c),
      ]),
    );
    const ids = async (cursor: number, skip?: Array<[number, number]>) =>
      (await rowsAfter(user, cursor, skip)).filter((x) => x.table === 'mood_entries').map((x) => x.version);
    expect(await ids(0, [[1, 3]])).toEqual([]);
    expect(await ids(0, [[2, 2]])).toEqual([1, 3]);
    // Another device edits b: its new version is not skipped.
    await push(
      server.app,
      user,
      pushBody(newId(), 'user', [mutation(1, 'mood.upsert@1', { ...b, fields: { mood: 1 } })]),
    );
    expect(await ids(0, [[1, 3]])).toEqual([4]);
    // The cursor moves on with nothing to send: the page is complete at the user's version.
    const pages = await pullAll(server.app, user, 4);
    expect(pages.at(-1)).toMatchObject({ complete: true, cursor: 4, changes: [] });
  });

  it('[PL11] from cursor 0 a pull naming skipped versions also gets tombstones; a reset ignores skip', async () => {
    const user = await signUp(server.app);
    const device = newId();
    const gone = moodArgs();
    await push(
      server.app,
      user,
      pushBody(device, 'user', [
        mutation(1, 'mood.upsert@1', gone),
        mutation(2, 'mood.delete@1', { id: gone.id }),
      ]),
    );
    const withSkip = (await rowsAfter(user, 0, [[1, 1]])).filter((x) => x.table === 'mood_entries');
    expect(withSkip).toEqual([{ op: 'del', table: 'mood_entries', version: 2, id: gone.id }]);
    // Without skip, a device with nothing needs no tombstones (PL7).
    expect((await rowsAfter(user, 0)).filter((x) => x.table === 'mood_entries')).toEqual([]);

    const kept = moodArgs();
    await push(server.app, user, pushBody(device, 'user', [mutation(3, 'mood.upsert@1', kept)]));
    // A cursor past the user's version means a restored server: reset, every row, skip or not.
    const reset = await pull(server.app, user, { cursor: 99, skip: [[1, 3]] });
    expect(reset.reset).toBe(true);
    expect(reset.changes.filter((x) => x.table === 'mood_entries')).toEqual([
      expect.objectContaining({ op: 'put', version: 3 }),
    ]);
  });

  it('[PL5][PL11] from cursor 0 a pull naming skipped versions gets a reset once the tombstones it needs are purged', async () => {
    const user = await signUp(server.app);
    const device = newId();
    const gone = moodArgs();
    const kept = moodArgs();
    const response = await push(
      server.app,
      user,
      pushBody(device, 'user', [
        mutation(1, 'mood.upsert@1', gone),
        mutation(2, 'mood.delete@1', { id: gone.id }),
        mutation(3, 'mood.upsert@1', kept),
      ]),
    );
    // The device holds `gone` as created at v1 (PU12) and deleted it; only the tombstone tells it the server did.
    expect(response.results).toEqual([
      { seq: 1, status: 'ok', v: 1 },
      { seq: 2, status: 'ok' },
      { seq: 3, status: 'ok', v: 3 },
    ]);
    // The device stays offline past the horizon before its first pull: the tombstone is purged meanwhile.
    expect(await purgeTombstones(database().db, new Date(Date.now() + 1000), 0)).toBeGreaterThan(0);
    const page = await pull(server.app, user, {
      cursor: 0,
      skip: [
        [1, 1],
        [3, 3],
      ],
    });
    expect(page.reset).toBe(true);
    expect(page.changes.filter((x) => x.table === 'mood_entries')).toEqual([
      expect.objectContaining({ op: 'put', version: 3 }),
    ]);
    // A device with nothing (no skip) needs no reset: it cannot hold the deleted row.
    expect((await pull(server.app, user, { cursor: 0 })).reset).toBe(false);
  });

  it('[PL11] a malformed skip is a 400 that names it', async () => {
    const user = await signUp(server.app);
    const base = { protocolVersion: 4, clientId: newId(), cursor: 0 };
    const backwards = await post(server.app, '/sync/pull', user.token, { ...base, skip: [[5, 2]] });
    expect(backwards.statusCode).toBe(400);
    expect(backwards.body).toContain('skip');
    const many = Array.from({ length: MAX_SKIP_RANGES + 1 }, (_, i) => [i * 2 + 1, i * 2 + 1]);
    const tooMany = await post(server.app, '/sync/pull', user.token, { ...base, skip: many });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.body).toContain('skip');
  });
});
