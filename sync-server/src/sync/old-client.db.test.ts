/**
 * An old client against this server (docs/coding-habits.md §13). The bodies below are written out as a protocol-1 client sends
 * them and the response shapes as it parses them (strict: an extra field breaks it): frozen copies, never derived
 * from the current protocol files, so a change to the server that would strand an installed app fails here. When
 * MIN_SUPPORTED_PROTOCOL_VERSION moves past 1, the same bodies must hear 426 instead (PU7).
 */
import zlib from 'node:zlib';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { newId } from '@vitalwatch/schema/ids';
import { moodEntries, mutationErrors, syncClients } from '@vitalwatch/schema/db/tables';
import { MIN_SUPPORTED_PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import {
  hlc,
  post,
  responseJson,
  signUp,
  startSyncServer,
  type SyncServer,
} from '../../test/sync-test-kit.ts';

/** Protocol 1 as its clients parse it (schema/src/protocol at protocol 1, frozen). */
const V1 = {
  pushResponse: z.strictObject({
    protocolVersion: z.int(),
    lane: z.enum(['critical', 'user', 'bulk']),
    results: z.array(
      z.discriminatedUnion('status', [
        z.strictObject({ seq: z.int(), status: z.literal('ok') }),
        z.strictObject({ seq: z.int(), status: z.literal('dup') }),
        z.strictObject({
          seq: z.int(),
          status: z.literal('rejected'),
          code: z.string(),
          message: z.string(),
        }),
      ]),
    ),
    lastSeq: z.int(),
    serverTime: z.int(),
  }),
  pullResponse: z.strictObject({
    protocolVersion: z.int(),
    reset: z.boolean(),
    changes: z.array(
      z.discriminatedUnion('op', [
        z.strictObject({
          op: z.literal('put'),
          table: z.string(),
          version: z.int(),
          row: z.record(z.string(), z.unknown()),
        }),
        z.strictObject({ op: z.literal('del'), table: z.string(), version: z.int(), id: z.string() }),
      ]),
    ),
    cursor: z.int(),
    complete: z.boolean(),
    serverTime: z.int(),
  }),
  moodRowFields: [
    'anxiety',
    'emotions',
    'energy',
    'hlc',
    'id',
    'mood',
    'note',
    'recordedAt',
    'sleepHours',
    'updatedAt',
    'version',
  ],
};

const V1_ACCEPTED = 1 >= MIN_SUPPORTED_PROTOCOL_VERSION;

function gzipPost(server: SyncServer, url: string, token: string, body: unknown) {
  return server.app.inject({
    method: 'POST',
    url,
    payload: zlib.gzipSync(JSON.stringify(body)),
    headers: {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'accept-encoding': 'gzip',
      authorization: `Bearer ${token}`,
    },
  });
}

describeOnEachDatabase('an old client against this server', (database) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  it('[PV2] a protocol-1 client pushes, retries and pulls with the bodies it sends, and parses every answer', async () => {
    const user = await signUp(server.app);
    const clientId = newId();
    const moodId = newId();
    const incidentId = newId();
    const t = server.clock.ms;
    const userPush = {
      protocolVersion: 1,
      clientId,
      lane: 'user',
      sentAt: t,
      mutations: [
        {
          seq: 1,
          name: 'mood.upsert@1',
          args: {
            id: moodId,
            recordedAt: t - 1_000,
            fields: { mood: 4, emotions: ['calm'], note: 'walked' },
          },
          hlc: hlc(t, 0, 'ab'),
          createdAt: t,
        },
        {
          seq: 2,
          name: 'coping.log@1',
          args: { id: newId(), tool: 'box_breathing', startedAt: t - 500, completed: true, helpfulness: 5 },
          hlc: hlc(t, 1, 'ab'),
          createdAt: t,
        },
      ],
    };
    const criticalPush = {
      protocolVersion: 1,
      clientId,
      lane: 'critical',
      sentAt: t,
      mutations: [
        {
          seq: 1,
          name: 'incident.trigger@1',
          args: { id: incidentId, code: 'OLD1', trigger: 'panic_button', triggeredAt: t },
          hlc: hlc(t, 2, 'ab'),
          createdAt: t,
        },
      ],
    };
    const pullFromZero = { protocolVersion: 1, clientId, cursor: 0, limit: 1000 };

    const pushed = await gzipPost(server, '/sync/push', user.token, userPush);
    if (!V1_ACCEPTED) {
      expect(pushed.statusCode).toBe(426);
      return;
    }
    expect(pushed.statusCode).toBe(200);
    const userAnswer = z.parse(V1.pushResponse, responseJson(pushed));
    expect(userAnswer).toMatchObject({
      lane: 'user',
      lastSeq: 2,
      results: [{ status: 'ok' }, { status: 'ok' }],
    });
    const critical = z.parse(
      V1.pushResponse,
      responseJson(await gzipPost(server, '/sync/push', user.token, criticalPush)),
    );
    expect(critical.results).toEqual([{ seq: 1, status: 'ok' }]);
    // The response was lost: the old client sends the same body again and clears it as dup.
    const retry = z.parse(
      V1.pushResponse,
      responseJson(await gzipPost(server, '/sync/push', user.token, userPush)),
    );
    expect(retry.results).toEqual([
      { seq: 1, status: 'dup' },
      { seq: 2, status: 'dup' },
    ]);

    const page = z.parse(
      V1.pullResponse,
      responseJson(await gzipPost(server, '/sync/pull', user.token, pullFromZero)),
    );
    expect(page).toMatchObject({ reset: false, complete: true });
    const mood = page.changes.find((c) => c.op === 'put' && c.table === 'mood_entries');
    expect(mood?.op === 'put' && Object.keys(mood.row).sort()).toEqual(V1.moodRowFields);
    expect(mood).toMatchObject({ row: { id: moodId, mood: 4, note: 'walked', emotions: ['calm'] } });
    expect(page.changes.some((c) => c.table === 'emergency_incidents')).toBe(true);
    const idle = z.parse(
      V1.pullResponse,
      responseJson(
        await gzipPost(server, '/sync/pull', user.token, {
          protocolVersion: 1,
          clientId,
          cursor: page.cursor,
        }),
      ),
    );
    expect(idle).toMatchObject({ changes: [], cursor: page.cursor, complete: true });
  });

  it('[PV2][PU7] a client older than the minimum, in its own older body shape, hears 426 on push and pull and loses nothing', async () => {
    const { db } = database();
    const user = await signUp(server.app);
    const clientId = newId();
    const moodId = newId();
    // A shape this server never accepted: other field names, no lane, no seqs.
    const older = MIN_SUPPORTED_PROTOCOL_VERSION - 1;
    const oldPush = {
      protocolVersion: older,
      deviceId: clientId,
      ops: [{ type: 'mood', id: moodId, value: 3, at: server.clock.ms }],
    };
    for (const [url, body] of [
      ['/sync/push', oldPush],
      ['/sync/pull', { protocolVersion: older, deviceId: clientId, since: '0' }],
    ] as const) {
      const response = await gzipPost(server, url, user.token, body);
      expect(response.statusCode, url).toBe(426);
      expect(responseJson(response), url).toEqual({
        error_code: 'update_required',
        message: expect.stringMatching(/unsent changes are kept/),
        min_protocol_version: MIN_SUPPORTED_PROTOCOL_VERSION,
      });
    }
    expect(await db.select().from(moodEntries).where(eq(moodEntries.id, moodId))).toEqual([]);
    const [lanes] = await db
      .select({ n: count() })
      .from(syncClients)
      .where(eq(syncClients.clientId, clientId));
    expect(lanes?.n).toBe(0);
    const [errors] = await db
      .select({ n: count() })
      .from(mutationErrors)
      .where(eq(mutationErrors.userId, user.userId));
    expect(errors?.n).toBe(0);

    // The same client after the update (protocol 1 bodies) delivers the change it kept.
    const updated = await post(server.app, '/sync/push', user.token, {
      protocolVersion: Math.max(1, MIN_SUPPORTED_PROTOCOL_VERSION),
      clientId,
      lane: 'user',
      sentAt: server.clock.ms,
      mutations: [
        {
          seq: 1,
          name: 'mood.upsert@1',
          args: { id: moodId, recordedAt: server.clock.ms, fields: { mood: 3 } },
          hlc: hlc(server.clock.ms),
          createdAt: server.clock.ms,
        },
      ],
    });
    expect(updated.statusCode).toBe(200);
    expect(await db.select().from(moodEntries).where(eq(moodEntries.id, moodId))).toHaveLength(1);
  });
});
