import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import { alertLogs, emergencyIncidents, screenerResults } from '@vitalwatch/schema/db/tables';
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

describeOnEachDatabase('check-in questionnaire results (issue #16 item 3)', (database) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  it('[WB47] a PHQ-9 result is stored once with the total the server adds up, reaches another device, and alerts nobody', async () => {
    const user = await signUp(server.app);
    const id = newId();
    // Item 9 answered "Several days": support is offered on the phone; nothing is sent to anyone.
    const result = {
      id,
      screener: 'phq9' as const,
      answers: [2, 2, 1, 1, 0, 1, 0, 0, 1],
      completedAt: Date.now(),
    };
    const first = await push(
      server.app,
      user,
      pushBody(newId(), 'user', [mutation(1, 'screener.record@1', result)]),
    );
    expect(first.results[0]?.status).toBe('ok');
    await push(server.app, user, pushBody(newId(), 'user', [mutation(1, 'screener.record@1', result)]));
    const rows = await database()
      .db.select({ total: screenerResults.total, answers: screenerResults.answers })
      .from(screenerResults)
      .where(eq(screenerResults.userId, user.userId));
    expect(rows).toEqual([{ total: 8, answers: result.answers }]);
    const pulled = applyPages(await pullAll(server.app, user, 0))
      .get('screener_results')
      ?.get(id);
    expect(pulled).toMatchObject({ screener: 'phq9', total: 8, answers: result.answers });
    const alerts = await database().db.select().from(alertLogs).where(eq(alertLogs.userId, user.userId));
    const incidents = await database()
      .db.select()
      .from(emergencyIncidents)
      .where(eq(emergencyIncidents.userId, user.userId));
    expect([alerts.length, incidents.length]).toEqual([0, 0]);
  });

  it('[WB47] a result with the wrong number of answers, or an answer outside 0–3, is rejected and nothing is stored', async () => {
    const user = await signUp(server.app);
    const response = await push(
      server.app,
      user,
      pushBody(newId(), 'user', [
        mutation(1, 'screener.record@1', {
          id: newId(),
          screener: 'gad7',
          answers: [1, 1, 1],
          completedAt: Date.now(),
        }),
        mutation(2, 'screener.record@1', {
          id: newId(),
          screener: 'gad7',
          answers: [4, 0, 0, 0, 0, 0, 0],
          completedAt: Date.now(),
        }),
      ]),
    );
    expect(response.results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const rows = await database()
      .db.select()
      .from(screenerResults)
      .where(eq(screenerResults.userId, user.userId));
    expect(rows).toEqual([]);
  });

  it('[RG9] a protocol-6 app never pulls a table newer than its protocol', async () => {
    const user = await signUp(server.app);
    await push(
      server.app,
      user,
      pushBody(newId(), 'user', [
        mutation(1, 'screener.record@1', {
          id: newId(),
          screener: 'gad7',
          answers: [3, 3, 3, 3, 3, 3, 3],
          completedAt: Date.now(),
        }),
        mutation(2, 'mood.upsert@1', { id: newId(), recordedAt: Date.now(), fields: { mood: 3 } }),
      ]),
    );
    const pulled = await post(server.app, '/sync/pull', user.token, {
      protocolVersion: 6,
      clientId: newId(),
      cursor: 0,
    });
    expect(pulled.statusCode).toBe(200);
    const body = JSON.stringify(responseJson(pulled));
    expect(body).toContain('mood_entries');
    expect(body).not.toContain('screener_results');
  });
});
