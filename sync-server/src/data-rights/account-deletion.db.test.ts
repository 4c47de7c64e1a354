import { randomBytes } from 'node:crypto';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { accountDeletions, emergencyContacts, mediaFiles, users } from '@vitalwatch/schema/db/tables';
import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import {
  countRows,
  countStoredFiles,
  PASSWORD,
  startDataRightsServer,
  type DataRightsServer,
  type Person,
} from '../../test/data-rights-kit.ts';
import { SessionEndHub } from '../auth/session-end-hub.ts';
import { supabaseStorage } from '../storage/supabase-storage.ts';
import { startFakeSupabaseStorage } from '../../test/fake-supabase-storage.ts';
import { DELETE_PASSWORD_FAILURES_PER_HOUR } from './data-rights-routes.ts';
import { finishAccountDeletion, finishPendingDeletions, requestAccountDeletion } from './account-deletion.ts';

describeOnEachDatabase('deleting an account (GDPR Art. 17)', (database) => {
  let kit: DataRightsServer;
  const server = () => kit.server;
  let ama: Person;
  let kofi: Person;

  beforeAll(async () => {
    kit = await startDataRightsServer(database());
    ama = await kit.person();
    kofi = await kit.person();
    // Kofi has Ama as a contact who gets his alerts in her app: his row, which her deletion must leave.
    await database()
      .db.update(emergencyContacts)
      .set({ contactUserId: ama.userId })
      .where(eq(emergencyContacts.id, kofi.seeded.contactId));
  });
  afterAll(() => kit.close());

  it('[DR9] a wrong password deletes nothing', async () => {
    const before = await countRows(database().db, ama.userId);
    const refused = await server().app.inject({
      method: 'POST',
      url: '/account/delete',
      headers: { authorization: `Bearer ${ama.token}` },
      payload: { password: 'not the password' },
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error_code: 'invalid_password' });
    expect(await countRows(database().db, ama.userId)).toEqual(before);
    const missing = await server().app.inject({
      method: 'POST',
      url: '/account/delete',
      headers: { authorization: `Bearer ${ama.token}` },
      payload: {},
    });
    expect(missing.statusCode).toBe(400);

    // Guessing is slow: after five wrong passwords in an hour even the right one waits.
    const yaw = await kit.person();
    const attempt = (password: string) =>
      server().app.inject({
        method: 'POST',
        url: '/account/delete',
        headers: { authorization: `Bearer ${yaw.token}` },
        payload: { password },
      });
    for (let i = 0; i < DELETE_PASSWORD_FAILURES_PER_HOUR; i += 1)
      expect((await attempt(`guess ${i}`)).statusCode).toBe(401);
    const waiting = await attempt(PASSWORD);
    expect(waiting.statusCode).toBe(429);
    expect(waiting.headers['retry-after']).toBeDefined();
    expect((await countRows(database().db, yaw.userId)).users).toBe(1);
  });

  it('[DR5][DR6] every row of the user in every table and every stored file go; the other user keeps all of theirs', async () => {
    const db = database().db;
    const amaBefore = await countRows(db, ama.userId);
    const kofiBefore = await countRows(db, kofi.userId);
    // A row in every table that holds user data: a new table must be seeded (data-rights-kit.ts) to be counted.
    expect(Object.entries(amaBefore).filter(([, n]) => n === 0)).toEqual([]);
    const amaFiles = await countStoredFiles(kit.dir, ama.userId);
    const kofiFiles = await countStoredFiles(kit.dir, kofi.userId);
    // Two published objects and two upload records (data + info) each, and the unfinished upload (data + info).
    expect(amaFiles).toBe(2 + 2 * 2 + 2);
    expect(kofiFiles).toBe(amaFiles);

    const deleted = await server().app.inject({
      method: 'POST',
      url: '/account/delete',
      headers: { authorization: `Bearer ${ama.token}` },
      payload: { password: PASSWORD },
    });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toMatchObject({ status: 'deleted', files: 2 });

    const amaAfter = await countRows(db, ama.userId);
    expect(Object.entries(amaAfter).filter(([, n]) => n !== 0)).toEqual([]);
    expect(await countRows(db, kofi.userId)).toEqual(kofiBefore);
    expect(await countStoredFiles(kit.dir, ama.userId)).toBe(0);
    expect(await countStoredFiles(kit.dir, kofi.userId)).toBe(kofiFiles);
    const [linked] = await db
      .select({ contactUserId: emergencyContacts.contactUserId })
      .from(emergencyContacts)
      .where(eq(emergencyContacts.id, kofi.seeded.contactId));
    expect(linked).toEqual({ contactUserId: null });

    // The audit entry: counts and hashes, nothing that names the person.
    const entries = await db.select().from(accountDeletions);
    expect(entries).toHaveLength(1);
    // Each table's count as it was; the sync tokens went with the request, before the rows (step 1).
    expect(entries[0]?.rowsDeleted).toEqual({ ...amaBefore, sync_tokens: 0 });
    expect(entries[0]?.filesDeleted).toBe(2);
    const text = JSON.stringify(entries);
    for (const personal of [ama.email, ama.userId, 'Esi', 'a private note', '+2332'])
      expect(text).not.toContain(personal);
  });

  it('[DR7] the deleted account’s tokens, refresh token and password are answered account_deleted or refused', async () => {
    const pull = await server().app.inject({
      method: 'POST',
      url: '/sync/pull',
      headers: { authorization: `Bearer ${ama.token}` },
      payload: { protocolVersion: PROTOCOL_VERSION, cursor: 0 },
    });
    expect(pull.statusCode).toBe(401);
    expect(pull.json()).toMatchObject({ error_code: 'account_deleted' });
    const refresh = await server().app.inject({
      method: 'POST',
      url: '/auth/v1/token?grant_type=refresh_token',
      payload: { refresh_token: ama.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
    expect(refresh.json()).toMatchObject({ error_code: 'account_deleted' });
    expect((await kit.signIn(ama.email)).statusCode).toBe(401);
    // Asking again is harmless.
    const again = await server().app.inject({
      method: 'POST',
      url: '/account/delete',
      headers: { authorization: `Bearer ${ama.token}` },
      payload: { password: PASSWORD },
    });
    expect(again.statusCode).toBe(401);
    // Kofi is untouched.
    const kofiPull = await server().app.inject({
      method: 'GET',
      url: '/auth/v1/user',
      headers: { authorization: `Bearer ${kofi.token}` },
    });
    expect(kofiPull.statusCode).toBe(200);
  });

  it('[DR8] the deleted account’s alert links answer 410 Gone; the other user’s still open', async () => {
    const gone = await server().app.inject({ method: 'GET', url: `/a/${ama.seeded.linkToken}` });
    expect(gone.statusCode).toBe(410);
    expect(gone.body).toContain('deleted their VitalWatch account');
    const answer = await server().app.inject({
      method: 'POST',
      url: `/a/${ama.seeded.linkToken}`,
      payload: 'response=on_my_way',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(answer.statusCode).toBe(410);
    const open = await server().app.inject({ method: 'GET', url: `/a/${kofi.seeded.linkToken}` });
    expect(open.statusCode).toBe(200);
    const unknown = await server().app.inject({
      method: 'GET',
      url: `/a/${randomBytes(12).toString('base64url')}`,
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('[DR10] a crash after the files leaves the mark; the job finishes the deletion; running it again changes nothing', async () => {
    const db = database().db;
    const esi = await kit.person();
    const deps = {
      db,
      stores: { dir: kit.dir, supabase: null },
      now: () => new Date(kit.clock.ms),
      sessionEnds: new SessionEndHub(),
    };
    expect(await requestAccountDeletion(deps, esi.userId)).toBe(true);
    // Marked: no token works, no sign-in succeeds, though the rows are still there.
    const meanwhile = await server().app.inject({
      method: 'GET',
      url: '/auth/v1/user',
      headers: { authorization: `Bearer ${esi.token}` },
    });
    expect(meanwhile.json()).toMatchObject({ error_code: 'account_deleted' });
    expect((await kit.signIn(esi.email)).json()).toMatchObject({ error_code: 'account_deleted' });
    expect((await server().app.inject({ method: 'GET', url: `/a/${esi.seeded.linkToken}` })).statusCode).toBe(
      410,
    );

    await expect(
      finishAccountDeletion(deps, esi.userId, {
        afterFiles: async () => {
          throw new Error('power cut');
        },
      }),
    ).rejects.toThrow('power cut');
    expect(await countStoredFiles(kit.dir, esi.userId)).toBe(0);
    expect((await countRows(db, esi.userId)).users).toBe(1);

    expect(await finishPendingDeletions(deps)).toBe(1);
    expect(Object.entries(await countRows(db, esi.userId)).filter(([, n]) => n !== 0)).toEqual([]);
    expect(await finishPendingDeletions(deps)).toBe(0);
    expect(await finishAccountDeletion(deps, esi.userId)).toBeNull();
    expect(await requestAccountDeletion(deps, esi.userId)).toBe(false);
    const left = await db.select({ id: users.id }).from(users).where(eq(users.id, esi.userId));
    expect(left).toEqual([]);
  });

  it('[DR6] files in Supabase Storage go too: every object the user’s media rows name, nobody else’s', async () => {
    const db = database().db;
    const fake = await startFakeSupabaseStorage();
    try {
      const supabase = supabaseStorage({ url: fake.url, serviceKey: fake.serviceKey });
      const yaa = await kit.person();
      const rows = await db
        .select({ userId: mediaFiles.userId, bucket: mediaFiles.bucket, path: mediaFiles.objectPath })
        .from(mediaFiles)
        .where(inArray(mediaFiles.userId, [yaa.userId, kofi.userId]));
      for (const row of rows) fake.put(row.bucket, row.path, Buffer.from('bytes'), 'audio/webm');
      const stores = { dir: kit.dir, supabase };
      const deps = { db, stores, now: () => new Date(kit.clock.ms), sessionEnds: new SessionEndHub() };
      await requestAccountDeletion(deps, yaa.userId);
      const receipt = await finishAccountDeletion(deps, yaa.userId);
      // Two in each store.
      expect(receipt?.filesDeleted).toBe(4);
      const left = [...fake.objects.keys()];
      expect(left.filter((key) => key.includes(yaa.userId))).toEqual([]);
      expect(left.filter((key) => key.includes(kofi.userId))).toHaveLength(2);
    } finally {
      await fake.close();
    }
  });
});
