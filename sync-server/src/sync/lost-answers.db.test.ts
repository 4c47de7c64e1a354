/**
 * Issue #21 items 4–5: what a device learns when an answer was lost, and the smaller promises around it: a `dup`
 * carries the first outcome (PU13), a push that changed nothing moves no version (PU14), every answer is in its
 * client's protocol (PV3), a pull's device id is not an account check (PL12), and a re-sent incident event is
 * known by its id (CF14).
 */
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { newId } from '@vitalwatch/schema/ids';
import { mutationErrors, userVersions } from '@vitalwatch/schema/db/tables';
import { PushResponse } from '@vitalwatch/schema/protocol/push-response';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import type { Db } from '../db/database.ts';
import {
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

async function userVersion(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ version: userVersions.version })
    .from(userVersions)
    .where(eq(userVersions.userId, userId));
  return row?.version ?? 0;
}

async function errorsFor(db: Db, clientId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(mutationErrors)
    .where(and(eq(mutationErrors.clientId, clientId)));
  return row?.n ?? 0;
}

/** A push as a client of protocol `version` sends it, answered 200; the body as it came. */
async function pushAs(server: SyncServer, user: TestUser, version: number, body: object): Promise<unknown> {
  const response = await post(server.app, '/sync/push', user.token, { ...body, protocolVersion: version });
  expect(response.statusCode, response.body).toBe(200);
  return responseJson(response);
}

describeOnEachDatabase('lost answers and the smaller protocol promises', (database) => {
  let server: SyncServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startSyncServer(database());
    alice = await signUp(server.app);
  });
  afterAll(() => server.app.close());

  it('[PU13] a dup of a rejected mutation carries the first rejection to a protocol-5 client; an applied one a bare dup', async () => {
    const clientId = newId();
    const batch = pushBody(clientId, 'user', [
      mutation(1, 'mood.upsert@1', { id: newId(), recordedAt: 1, fields: { mood: 3 } }),
      rawMutation(2, 'mood.upsert@1', { id: 'not a uuid' }),
      mutation(3, 'coping.log@1', { id: newId(), tool: 'box_breathing', startedAt: 1, completed: true }),
    ]);
    const first = await push(server.app, alice, batch);
    const rejection = first.results[1];
    expect(rejection).toMatchObject({ seq: 2, status: 'rejected', code: 'invalid_args' });
    if (rejection?.status !== 'rejected') throw new Error('unreachable');

    // The answer was lost: the device sends the same batch again and learns how each one ended.
    const again = await push(server.app, alice, batch);
    expect(again.results).toEqual([
      { seq: 1, status: 'dup' },
      { seq: 2, status: 'dup', rejected: { code: rejection.code, message: rejection.message } },
      { seq: 3, status: 'dup' },
    ]);
    // Recorded once, not again for the dup.
    expect(await errorsFor(database().db, clientId)).toBe(1);

    // A protocol-4 client parses a bare dup strictly: it gets exactly that.
    const old = z.parse(PushResponse, await pushAs(server, alice, 4, batch));
    expect(old.results).toEqual([
      { seq: 1, status: 'dup' },
      { seq: 2, status: 'dup' },
      { seq: 3, status: 'dup' },
    ]);
  });

  it('[PU14] a push whose mutations are all rejected moves no version and leaves pulls where they were', async () => {
    const before = await userVersion(database().db, alice.userId);
    const cursor = (await pull(server.app, alice, { cursor: 0 })).cursor;
    const clientId = newId();
    const response = await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [
        rawMutation(1, 'mood.upsert@1', { id: 'nope' }),
        rawMutation(2, 'mood.delete@1', { id: 'not-a-uuid' }),
        rawMutation(3, 'no.such@1', {}),
      ]),
    );
    expect(response.results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(response.lastSeq).toBe(3);
    expect(await userVersion(database().db, alice.userId)).toBe(before);
    expect(await pull(server.app, alice, { cursor })).toMatchObject({ cursor, changes: [], complete: true });

    // A later push that applies takes the next version after the kept ones: no gap, no reuse of a stamped one.
    const applied = await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [
        rawMutation(4, 'mood.upsert@1', { id: 'nope' }),
        mutation(5, 'mood.upsert@1', { id: newId(), recordedAt: 1, fields: { mood: 2 } }),
        rawMutation(6, 'mood.upsert@1', { id: 'nope' }),
      ]),
    );
    expect(applied.results.map((r) => r.status)).toEqual(['rejected', 'ok', 'rejected']);
    expect(await userVersion(database().db, alice.userId)).toBe(before + 2);
  });

  it('[PU14] an illegal incident event is kept (CF3), so its version stands even when it is the only mutation', async () => {
    const clientId = newId();
    const incidentId = newId();
    const at = server.clock.ms;
    const trigger = { id: incidentId, code: 'AB12', trigger: 'panic_button' as const, triggeredAt: at };
    await push(
      server.app,
      alice,
      pushBody(clientId, 'critical', [mutation(1, 'incident.trigger@1', trigger)]),
    );
    const ack = (seq: number) =>
      mutation(seq, 'incident.event@1', { id: newId(), incidentId, type: 'acknowledged', at });
    await push(server.app, alice, pushBody(clientId, 'critical', [ack(2)]));
    const before = await userVersion(database().db, alice.userId);
    const second = await push(server.app, alice, pushBody(clientId, 'critical', [ack(3)]));
    expect(second.results).toMatchObject([{ status: 'rejected', code: 'illegal_transition' }]);
    expect(await userVersion(database().db, alice.userId)).toBe(before + 1);
  });

  it('[PV3] every answer carries the protocol its client sent, not the server’s', async () => {
    const clientId = newId();
    const body = pushBody(clientId, 'user', [
      mutation(1, 'mood.upsert@1', { id: newId(), recordedAt: 1, fields: { mood: 4 } }),
    ]);
    expect(await pushAs(server, alice, 3, body)).toMatchObject({ protocolVersion: 3 });
    expect(await pushAs(server, alice, 4, body)).toMatchObject({ protocolVersion: 4 });
    for (const version of [1, 3, 4, 5]) {
      const response = await post(server.app, '/sync/pull', alice.token, {
        protocolVersion: version,
        clientId,
        cursor: 0,
      });
      expect(response.statusCode).toBe(200);
      expect(responseJson(response)).toMatchObject({ protocolVersion: version });
    }
  });

  it('[PL12] a pull with another account’s device id is answered with the caller’s own rows only', async () => {
    const bob = await signUp(server.app);
    const bobsDevice = newId();
    const bobsMood = newId();
    await push(
      server.app,
      bob,
      pushBody(bobsDevice, 'user', [
        mutation(1, 'mood.upsert@1', { id: bobsMood, recordedAt: 1, fields: { mood: 1 } }),
      ]),
    );
    const page = await pull(server.app, alice, { clientId: bobsDevice, cursor: 0 });
    const ids = page.changes.flatMap((c) => (c.op === 'put' ? [String(c.row.id)] : [c.id]));
    expect(ids).not.toContain(bobsMood);
    expect(ids).toContain(alice.userId); // her settings row
    // Pushing with it is still refused (PU6): the id stays Bob's.
    const refused = await post(
      server.app,
      '/sync/push',
      alice.token,
      pushBody(bobsDevice, 'user', [
        mutation(1, 'mood.upsert@1', { id: newId(), recordedAt: 1, fields: { mood: 1 } }),
      ]),
    );
    expect(refused.statusCode).toBe(409);
  });

  it('[CF14] an incident event sent again under a new seq is known by its id: ok, not rejected or logged again', async () => {
    const clientId = newId();
    const incidentId = newId();
    const at = server.clock.ms;
    const trigger = { id: incidentId, code: 'CD34', trigger: 'panic_button' as const, triggeredAt: at };
    await push(
      server.app,
      alice,
      pushBody(clientId, 'critical', [mutation(1, 'incident.trigger@1', trigger)]),
    );
    await push(
      server.app,
      alice,
      pushBody(clientId, 'critical', [
        mutation(2, 'incident.event@1', { id: newId(), incidentId, type: 'acknowledged', at }),
      ]),
    );
    const illegal = { id: newId(), incidentId, type: 'acknowledged' as const, at };
    const first = await push(
      server.app,
      alice,
      pushBody(clientId, 'critical', [mutation(3, 'incident.event@1', illegal)]),
    );
    expect(first.results).toMatchObject([{ status: 'rejected', code: 'illegal_transition' }]);
    const version = await userVersion(database().db, alice.userId);

    const resent = await push(
      server.app,
      alice,
      pushBody(clientId, 'critical', [mutation(4, 'incident.event@1', illegal)]),
    );
    expect(resent.results).toEqual([{ seq: 4, status: 'ok' }]);
    expect(await errorsFor(database().db, clientId)).toBe(1);
    expect(resent.lastSeq).toBe(4);
    // Nothing changed for devices either (the version moved, as for any applied mutation that changes nothing).
    const events = (await pull(server.app, alice, { cursor: version })).changes.filter(
      (c) => c.table === 'incident_events',
    );
    expect(events).toEqual([]);
  });
});
