import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import { copingToolsUsage } from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import {
  applyPages,
  mutation,
  post,
  pullAll,
  push,
  pushBody,
  responseJson,
  signUp,
  startSyncServer,
  type SyncServer,
} from '../../test/sync-test-kit.ts';

describeOnEachDatabase('coping tools log distress 0–10 (issue #16)', (database) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  it('[WB21] a use logged with distress before and after is stored once and reaches another device by pull', async () => {
    const user = await signUp(server.app);
    const id = newId();
    const use = {
      id,
      tool: 'paced_breathing',
      startedAt: Date.now() - 120_000,
      durationSeconds: 120,
      completed: true,
      distressBefore: 9,
      distressAfter: 6,
      helpfulness: 4,
    };
    const phone = newId();
    const first = await push(server.app, user, pushBody(phone, 'user', [mutation(1, 'coping.log@1', use)]));
    expect(first.results[0]?.status).toBe('ok');
    // The same use pushed again (a lost answer) stays one row.
    await push(server.app, user, pushBody(newId(), 'user', [mutation(1, 'coping.log@1', use)]));
    const rows = await database()
      .db.select({ before: copingToolsUsage.distressBefore, after: copingToolsUsage.distressAfter })
      .from(copingToolsUsage)
      .where(eq(copingToolsUsage.userId, user.userId));
    expect(rows).toEqual([{ before: 9, after: 6 }]);
    const pulled = applyPages(await pullAll(server.app, user, 0))
      .get('coping_tools_usage')
      ?.get(id);
    expect(pulled).toMatchObject({ distressBefore: 9, distressAfter: 6, helpfulness: 4, completed: true });
  });

  it('[WB21] a distress rating outside 0–10 is rejected and nothing is stored', async () => {
    const user = await signUp(server.app);
    const base = { tool: 'grounding_54321', startedAt: Date.now(), completed: false };
    const response = await push(
      server.app,
      user,
      pushBody(newId(), 'user', [
        mutation(1, 'coping.log@1', { ...base, id: newId(), distressBefore: 11 }),
        mutation(2, 'coping.log@1', { ...base, id: newId(), distressAfter: -1 }),
      ]),
    );
    expect(response.results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const rows = await database()
      .db.select()
      .from(copingToolsUsage)
      .where(eq(copingToolsUsage.userId, user.userId));
    expect(rows).toEqual([]);
  });

  it('[WB21] a protocol-6 app pulls coping rows without the distress fields, and its own logs still apply', async () => {
    const user = await signUp(server.app);
    const old = newId();
    const push6 = await post(server.app, '/sync/push', user.token, {
      ...pushBody(old, 'user', [
        mutation(1, 'coping.log@1', {
          id: newId(),
          tool: 'box_breathing',
          startedAt: Date.now(),
          completed: true,
        }),
      ]),
      protocolVersion: 6,
    });
    expect(push6.statusCode).toBe(200);
    await push(
      server.app,
      user,
      pushBody(newId(), 'user', [
        mutation(1, 'coping.log@1', {
          id: newId(),
          tool: 'urge_surfing',
          startedAt: Date.now(),
          completed: true,
          distressBefore: 8,
          distressAfter: 5,
        }),
      ]),
    );
    const pulled = await post(server.app, '/sync/pull', user.token, {
      protocolVersion: 6,
      clientId: old,
      cursor: 0,
    });
    expect(pulled.statusCode).toBe(200);
    const body = JSON.stringify(responseJson(pulled));
    expect(body).toContain('urge_surfing');
    expect(body).not.toContain('distress');
  });
});
