/**
 * The `/sync/pull` answer by the client's protocol (SPEC PL10): columnar pages from protocol 4 on, `changes` for
 * protocol 1–3, whose apps parse pages strictly. Both forms carry the same changes.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { newId } from '@vitalwatch/schema/ids';
import { alertLogs, emergencyIncidents, userVersions } from '@vitalwatch/schema/db/tables';
import { decodePullPage } from '@vitalwatch/schema/protocol/pull-page';
import { PullResponse, PullResponseV1 } from '@vitalwatch/schema/protocol/pull-response';
import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import { pulledFields, ROW_SCHEMAS, SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import {
  mutation,
  post,
  pullAll,
  push,
  pushBody,
  responseJson,
  signUp,
  startSyncServer,
  type SyncServer,
  type TestUser,
} from '../../test/sync-test-kit.ts';

describeOnEachDatabase('POST /sync/pull: the page form by protocol', (database) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  async function rawPull(user: TestUser, protocolVersion: number, cursor: number, limit?: number) {
    const body = { protocolVersion, clientId: newId(), cursor, ...(limit !== undefined && { limit }) };
    const response = await post(server.app, '/sync/pull', user.token, body, { acceptGzip: true });
    expect(response.statusCode).toBe(200);
    return { json: responseJson(response), wireBytes: response.rawPayload.length };
  }

  /** Every table but settings gets rows; some moods are deleted (tombstones) after `before` is taken. */
  async function userWithHistory(): Promise<{ user: TestUser; before: number }> {
    const user = await signUp(server.app);
    const clientId = newId();
    const incidentId = newId();
    const moods = Array.from({ length: 12 }, () => newId());
    const contact = newId();
    await push(
      server.app,
      user,
      pushBody(clientId, 'critical', [
        mutation(1, 'incident.trigger@1', {
          id: incidentId,
          code: 'COLS1',
          trigger: 'panic_button',
          triggeredAt: Date.now(),
        }),
        mutation(2, 'incident.event@1', { id: newId(), incidentId, type: 'acknowledged', at: Date.now() }),
      ]),
    );
    let seq = 0;
    await push(
      server.app,
      user,
      pushBody(clientId, 'user', [
        ...moods.map((id, i) =>
          mutation(++seq, 'mood.upsert@1', {
            id,
            recordedAt: Date.now() - i * 60_000,
            fields: {
              mood: 1 + (i % 5),
              ...(i % 2 === 0 && { energy: null, emotions: ['calm', 'tired'], note: `day ${i}` }),
            },
          }),
        ),
        mutation(++seq, 'contact.upsert@1', {
          id: contact,
          fields: { name: 'Sam', tier: 1, notifyBySms: true, shareLocation: false },
          phoneE164: '+15550100042',
          expectedPhoneE164: null,
        }),
        mutation(++seq, 'coping.log@1', {
          id: newId(),
          tool: 'box_breathing',
          startedAt: Date.now(),
          completed: true,
          moodBefore: 2,
        }),
        mutation(++seq, 'screener.record@1', {
          id: newId(),
          screener: 'gad7',
          answers: [1, 2, 0, 0, 1, 0, 0],
          completedAt: Date.now(),
        }),
      ]),
    );
    const before = (await pullAll(server.app, user, 0)).at(-1)!.cursor;
    await push(
      server.app,
      user,
      pushBody(clientId, 'user', [
        mutation(++seq, 'mood.delete@1', { id: moods[0]! }),
        mutation(++seq, 'mood.delete@1', { id: moods[5]! }),
        mutation(++seq, 'mood.upsert@1', {
          id: moods[1]!,
          recordedAt: Date.now(),
          fields: { note: 'later' },
        }),
        mutation(++seq, 'contact.upsert@1', { id: contact, fields: { notes: 'neighbour' } }),
      ]),
    );
    return { user, before };
  }

  it('[PL10] a protocol-3 pull gets `changes`, a protocol-4 pull columnar pages that decode to the same changes', async () => {
    const { user, before } = await userWithHistory();
    for (const [cursor, limit] of [
      [0, undefined],
      [0, 4],
      [before, undefined],
    ] as const) {
      let from = cursor;
      for (let guard = 0; guard < 50; guard++) {
        const old = z.parse(PullResponseV1, (await rawPull(user, 3, from, limit)).json);
        const wire = z.parse(PullResponse, (await rawPull(user, 4, from, limit)).json);
        expect(wire).not.toHaveProperty('changes');
        const page = decodePullPage(wire);
        // Each answer carries its client's protocol (PV3); the changes are the same.
        expect([wire.protocolVersion, old.protocolVersion]).toEqual([4, 3]);
        expect({ ...page, protocolVersion: 3 }, `cursor ${from}, limit ${limit}`).toEqual(old);
        for (const change of page.changes) {
          if (change.op === 'put') z.parse(ROW_SCHEMAS[change.table], change.row);
        }
        if (cursor === before) expect(page.changes.filter((c) => c.op === 'del')).toHaveLength(2);
        if (page.complete) break;
        from = page.cursor;
      }
    }
  });

  it('[PL10] protocol 1 and 2 also get `changes`; the columnar page of the same changes is smaller on the wire', async () => {
    const user = await signUp(server.app);
    const clientId = newId();
    await push(
      server.app,
      user,
      pushBody(
        clientId,
        'user',
        Array.from({ length: 200 }, (_, i) =>
          mutation(i + 1, 'mood.upsert@1', {
            id: newId(),
            recordedAt: Date.now() - i * 3_600_000,
            fields: {
              mood: 1 + (i % 5),
              anxiety: 1 + (i % 3),
              sleepHours: 7.5,
              emotions: ['calm'],
              note: null,
            },
          }),
        ),
      ),
    );
    const sizes: number[] = [];
    for (const protocolVersion of [1, 2, 3]) {
      const { json, wireBytes } = await rawPull(user, protocolVersion, 0);
      expect(z.parse(PullResponseV1, json).changes, `protocol ${protocolVersion}`).toHaveLength(201);
      sizes.push(wireBytes);
    }
    const columnar = await rawPull(user, 4, 0);
    expect(decodePullPage(z.parse(PullResponse, columnar.json)).changes).toHaveLength(201);
    // Gzipped both ways: the repeated field names and versions cost even after compression.
    expect(columnar.wireBytes).toBeLessThan(Math.min(...sizes) * 0.85);
  });

  it('[RG3][RG9] every registry table sends exactly its pulled whitelist, by the client protocol', async () => {
    const { user } = await userWithHistory();
    // An alert ledger row, as the dispatcher writes one, at the user's next version.
    const { db } = database();
    const [incident] = await db
      .select({ id: emergencyIncidents.id })
      .from(emergencyIncidents)
      .where(eq(emergencyIncidents.userId, user.userId));
    const [next] = await db
      .update(userVersions)
      .set({ version: sql`${userVersions.version} + 1` })
      .where(eq(userVersions.userId, user.userId))
      .returning({ version: userVersions.version });
    await db.insert(alertLogs).values({
      userId: user.userId,
      incidentId: incident!.id,
      channel: 'sms',
      messageKind: 'alert',
      idempotencyKey: newId(),
      version: next!.version,
    });
    for (const protocolVersion of [1, 3, 4, 5, PROTOCOL_VERSION]) {
      const json = (await rawPull(user, protocolVersion, 0)).json;
      const changes =
        protocolVersion >= 4
          ? decodePullPage(z.parse(PullResponse, json)).changes
          : z.parse(PullResponseV1, json).changes;
      const seen = new Set<string>();
      for (const change of changes) {
        if (change.op !== 'put') continue;
        seen.add(change.table);
        expect(Object.keys(change.row).sort(), `${change.table} @ protocol ${protocolVersion}`).toEqual(
          pulledFields(change.table, protocolVersion).sort(),
        );
      }
      // RG9: a table newer than the client's protocol is left out.
      expect([...seen].sort(), `protocol ${protocolVersion}`).toEqual(
        Object.entries(SYNCED_TABLE_REGISTRY)
          .filter(([, entry]) => entry.pulled.id <= protocolVersion)
          .map(([table]) => table)
          .sort(),
      );
    }
  });
});
