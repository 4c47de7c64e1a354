import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import { users, userSettings } from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import {
  applyPages,
  hlc,
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

describeOnEachDatabase('one synced record of SOS settings (issue #14)', (database) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  const seqs = new Map<string, number>();
  async function update(user: TestUser, clientId: string, fields: object, at: number) {
    const seq = (seqs.get(clientId) ?? 0) + 1;
    seqs.set(clientId, seq);
    const response = await push(
      server.app,
      user,
      pushBody(clientId, 'user', [
        mutation(
          seq,
          'settings.update@1',
          { fields },
          { hlc: hlc(at, 0, clientId.slice(-4)), createdAt: at },
        ),
      ]),
    );
    expect(response.results[0]?.status).toBe('ok');
  }

  async function settingsRow(user: TestUser) {
    const tables = applyPages(await pullAll(server.app, user, 0));
    return tables.get('user_settings')?.get(user.userId);
  }

  it('[SO40] name, countdown, emergency number, region and silent SOS set on one device reach another by pull', async () => {
    const user = await signUp(server.app);
    const phone = newId();
    await update(
      user,
      phone,
      {
        name: '  Ama Mensah ',
        sosCountdownSeconds: 3,
        emergencyNumber: '999',
        region: 'KE',
        silentSos: true,
      },
      Date.now(),
    );
    // A second device that has never written anything pulls the same record.
    expect(await settingsRow(user)).toMatchObject({
      id: user.userId,
      name: 'Ama Mensah',
      sosCountdownSeconds: 3,
      emergencyNumber: '999',
      region: 'KE',
      silentSos: true,
    });
    // The name is the profile's, where the server's SMS and the alert page read it.
    const [profile] = await database()
      .db.select({ name: users.displayName, number: users.emergencyNumber })
      .from(users)
      .where(eq(users.id, user.userId));
    expect(profile).toEqual({ name: 'Ama Mensah', number: '999' });
  });

  it('[SO40] each field is last-writer-wins by HLC on its own: an older edit loses only the fields it lost', async () => {
    const user = await signUp(server.app);
    const t = Date.now();
    await update(user, newId(), { name: 'Ama', sosCountdownSeconds: 8 }, t + 1_000);
    // Made earlier offline on another device, pushed later: its name is older, its region is new.
    await update(user, newId(), { name: 'Old name', region: 'GH' }, t);
    expect(await settingsRow(user)).toMatchObject({ name: 'Ama', sosCountdownSeconds: 8, region: 'GH' });
    // Clearing: null takes the name off (alerts then carry none) and puts the emergency number back to default.
    await update(user, newId(), { name: null, emergencyNumber: null, region: null }, t + 2_000);
    expect(await settingsRow(user)).toMatchObject({ name: '', emergencyNumber: null, region: null });
  });

  it('[SO40] a name changed through the profile (PATCH /api/v1/me) reaches devices by pull too', async () => {
    const user = await signUp(server.app);
    const before = applyPages(await pullAll(server.app, user, 0));
    expect(before.get('user_settings')?.get(user.userId)).toMatchObject({ name: '' });
    const cursor = (await pullAll(server.app, user, 0)).at(-1)!.cursor;
    const patched = await server.app.inject({
      method: 'PATCH',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${user.token}` },
      payload: { display_name: 'Kofi' },
    });
    expect(patched.statusCode).toBe(200);
    const after = applyPages(await pullAll(server.app, user, cursor));
    expect(after.get('user_settings')?.get(user.userId)).toMatchObject({ name: 'Kofi' });
  });

  it('[SO40] bad values are rejected and change nothing', async () => {
    const user = await signUp(server.app);
    const response = await push(
      server.app,
      user,
      pushBody(newId(), 'user', [
        mutation(1, 'settings.update@1', { fields: { region: 'kenya' } }),
        mutation(2, 'settings.update@1', { fields: { emergencyNumber: '9 9 9' } }),
        mutation(3, 'settings.update@1', { fields: { name: 'x'.repeat(101) } }),
      ]),
    );
    expect(response.results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const [row] = await database()
      .db.select({ region: userSettings.region })
      .from(userSettings)
      .where(eq(userSettings.userId, user.userId));
    expect(row).toEqual({ region: null });
  });

  it('[PV4] a protocol-5 app pulls settings rows without the protocol-6 fields, and its own pushes still apply', async () => {
    const user = await signUp(server.app);
    const old = newId();
    const push5 = await post(server.app, '/sync/push', user.token, {
      ...pushBody(old, 'user', [mutation(1, 'settings.update@1', { fields: { sosCountdownSeconds: 2 } })]),
      protocolVersion: 5,
    });
    expect(push5.statusCode).toBe(200);
    await update(user, newId(), { name: 'Ama', silentSos: true }, Date.now());
    const pulled = await post(server.app, '/sync/pull', user.token, {
      protocolVersion: 5,
      clientId: old,
      cursor: 0,
    });
    expect(pulled.statusCode).toBe(200);
    const body = JSON.stringify(responseJson(pulled));
    expect(body).toContain('sosCountdownSeconds');
    for (const field of ['silentSos', '"region"', '"emergencyNumber"', '"name"'])
      expect(body).not.toContain(field);
  });
});
