/**
 * For the data-rights tests: a row of the user in every table that holds user data (what sign-up, sign-in and an
 * upload do not write themselves is inserted as the server would), and counts of rows and stored files by user.
 * A table added to the schema with a `user_id` makes `seedEveryTable`'s check fail until a row is added here.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import * as t from '@vitalwatch/schema/db/tables';
import { newId } from '@vitalwatch/schema/ids';
import type { Database, Db } from '../src/db/database.ts';
import { UPLOAD_PATH } from '../src/storage/upload-routes.ts';
import { fakeWebm, runUpload } from './storage-test-kit.ts';
import { alertsWithoutChannels, startEmbeddedApp, type RunningApp } from './test-app.ts';
import { queryRows } from '../src/db/query-rows.ts';
import { ownedBy, userDataTables } from '../src/data-rights/user-data-tables.ts';
import { sha256 } from '../src/auth/deleted-accounts.ts';

export type Seeded = { incidentId: string; contactId: string; linkToken: string };

/** Rows of `userId` in every user-data table the account's own use did not fill yet. */
export async function seedEveryTable(db: Db, userId: string, at = new Date()): Promise<Seeded> {
  const incidentId = newId();
  const contactId = newId();
  const otherContactId = newId();
  const moodId = newId();
  const linkToken = randomBytes(12).toString('base64url');
  const clientId = newId();
  await db.transaction(async (tx) => {
    await tx.insert(t.userSessions).values({
      id: newId(),
      userId,
      refreshTokenHash: sha256(`refresh-${newId()}`),
      expiresAt: new Date(at.getTime() + 86_400_000),
    });
    await tx.insert(t.syncTokens).values({
      tokenHash: sha256(`sync-${newId()}`),
      userId,
      expiresAt: new Date(at.getTime() + 3_600_000),
    });
    await tx.insert(t.activityLogs).values({ userId, actorUserId: userId, action: 'test.seed' });
    await tx.insert(t.apiUsage).values({ userId, windowStart: at, route: 'sync/push', requests: 3 });
    await tx.insert(t.systemEvents).values({ level: 'info', source: 'test', event: 'seed', userId });
    await tx
      .insert(t.moodEntries)
      .values({ id: moodId, userId, recordedAt: at, mood: 3, note: 'a private note' });
    await tx.insert(t.moodRevisions).values({
      userId,
      moodEntryId: moodId,
      previous: { note: { value: 'before', hlc: null } },
      replacedByHlc: '0-0-a',
      replacedAtVersion: 1,
    });
    await tx.insert(t.copingToolsUsage).values({ id: newId(), userId, tool: 'box_breathing', startedAt: at });
    await tx.insert(t.screenerResults).values({
      id: newId(),
      userId,
      screener: 'gad7',
      answers: [1, 1, 1, 1, 0, 0, 0],
      total: 4,
      completedAt: at,
    });
    await tx.insert(t.aiInsights).values({
      id: newId(),
      userId,
      kind: 'summary',
      title: 'Week',
      body: 'Steady',
      generator: 'rules@1',
    });
    await tx.insert(t.therapySessions).values({ id: newId(), userId, occurredAt: at, kind: 'therapy' });
    await tx.insert(t.emergencyContacts).values([
      {
        id: contactId,
        userId,
        name: 'Esi',
        phoneE164: `+23324${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`,
      },
      {
        id: otherContactId,
        userId,
        name: 'Yaw',
        phoneE164: `+23325${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`,
      },
    ]);
    await tx.insert(t.contactMerges).values({ mergedId: newId(), userId, survivorId: contactId, version: 1 });
    await tx.insert(t.fieldClocks).values({ userId, tableName: 'emergency_contacts', rowId: contactId });
    await tx.insert(t.emergencyIncidents).values({
      id: incidentId,
      userId,
      code: 'B7K2',
      trigger: 'panic_button',
      triggeredAt: at,
    });
    await tx.insert(t.incidentEvents).values({
      id: newId(),
      userId,
      incidentId,
      type: 'resolved',
      at,
      outcome: 'applied',
    });
    await tx.insert(t.alertLogs).values({
      id: newId(),
      userId,
      incidentId,
      contactId,
      channel: 'sms',
      messageKind: 'alert',
      idempotencyKey: `seed-${newId()}`,
      toAddress: '+233240000000',
    });
    await tx.insert(t.alertLinks).values({
      token: linkToken,
      userId,
      incidentId,
      contactId,
      expiresAt: new Date(at.getTime() + 86_400_000),
    });
    await tx.insert(t.sensorReadings).values(
      Array.from({ length: 5 }, (_, i) => ({
        id: newId(),
        userId,
        recordedAt: new Date(at.getTime() - i * 1000),
        kind: 1,
        value: 70 + i,
      })),
    );
    await tx.insert(t.pushSubscriptions).values({
      userId,
      endpoint: `https://push.example.org/${newId()}`,
      p256dh: 'key',
      auth: 'secret',
    });
    await tx.insert(t.inboundSms).values({
      messageSid: `SM${randomBytes(16).toString('hex')}`,
      userId,
      receivedAt: at,
      reply: 'ok',
    });
    await tx.insert(t.sosTestMessages).values({
      id: newId(),
      userId,
      testId: newId(),
      contactId,
      contactName: 'Esi',
      toAddress: '+233240000000',
      body: 'test',
      provider: 'twilio',
      createdAt: at,
      updatedAt: at,
    });
    await tx.insert(t.syncClients).values({ userId, clientId, lane: 'user', lastSeq: 1 });
    await tx.insert(t.mutationErrors).values({
      userId,
      clientId,
      lane: 'user',
      seq: 1,
      name: 'mood.create',
      code: 'invalid',
      message: 'refused',
    });
    await tx.insert(t.userVersions).values({ userId, version: 5 }).onConflictDoNothing();
  });
  return { incidentId, contactId, linkToken };
}

/** Rows of the user in each user-data table. */
export async function countRows(db: Db, userId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of userDataTables()) {
    const [row] = await queryRows<{ n: number | string }>(
      db,
      sql`select count(*) as n from ${table.table} where ${ownedBy(table, userId)}`,
    );
    counts[table.name] = Number(row?.n ?? 0);
  }
  return counts;
}

/** Files the embedded store holds for the user: published objects and tus uploads (data and info files). */
export async function countStoredFiles(dir: string, userId: string): Promise<number> {
  let count = 0;
  const walk = async (folder: string): Promise<void> => {
    const entries = await fs.readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (full.includes(`${path.sep}user-${userId}${path.sep}`)) count += 1;
    }
  };
  await walk(path.join(dir, 'objects'));
  const uploads = await fs.readdir(path.join(dir, 'uploads')).catch(() => [] as string[]);
  for (const name of uploads.filter((n) => n.endsWith('.json'))) {
    const info = await fs.readFile(path.join(dir, 'uploads', name), 'utf8');
    if (info.includes(`user-${userId}/`)) count += uploads.includes(name.slice(0, -5)) ? 2 : 1;
  }
  return count;
}

export const PASSWORD = 'a long enough passphrase';

export type Person = { userId: string; email: string; token: string; refreshToken: string; seeded: Seeded };

export type DataRightsServer = {
  server: RunningApp;
  /** The embedded store's root. */
  dir: string;
  clock: { ms: number };
  /** A new account with a row in every table, two uploaded recordings and an unfinished upload. */
  person(): Promise<Person>;
  signIn(email: string): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
};

/** The embedded server with a file store and the alert pages (no channel: nothing is sent). */
export async function startDataRightsServer(database: Database): Promise<DataRightsServer> {
  const clock = { ms: Date.now() };
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-dr-'));
  const server = await startEmbeddedApp(database, {
    now: () => new Date(clock.ms),
    storage: { dir, urlSigningKey: new Uint8Array(randomBytes(32)) },
    alerts: alertsWithoutChannels,
  });
  const signIn = (email: string) =>
    server.app.inject({
      method: 'POST',
      url: '/auth/v1/token?grant_type=password',
      payload: { email, password: PASSWORD },
    });

  async function person(): Promise<Person> {
    const email = `dr-${randomBytes(4).toString('hex')}@example.org`;
    const up = await server.app.inject({
      method: 'POST',
      url: '/auth/v1/signup',
      payload: { email, password: PASSWORD },
    });
    if (up.statusCode !== 200) throw new Error(`sign-up failed: ${up.body}`);
    const session = await signIn(email);
    if (session.statusCode !== 200) throw new Error(`sign-in failed: ${session.body}`);
    const body = session.json<{ access_token: string; refresh_token: string; user: { id: string } }>();
    const account = {
      userId: body.user.id,
      email,
      token: body.access_token,
      refreshToken: body.refresh_token,
    };
    const seeded = await seedEveryTable(database.db, account.userId, new Date(clock.ms));
    for (const name of ['a', 'b']) {
      await runUpload({
        baseUrl: server.url,
        token: account.token,
        file: fakeWebm(20_000),
        bucket: 'emergency',
        objectName: `user-${account.userId}/notes/${name}.webm`,
        contentType: 'audio/webm',
      });
    }
    // An upload begun and never finished: a partial file in the tus store.
    const meta = (value: string) => Buffer.from(value).toString('base64');
    const created = await fetch(`${server.url}${UPLOAD_PATH}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${account.token}`,
        'tus-resumable': '1.0.0',
        'upload-length': '50000',
        'upload-metadata': `bucketName ${meta('emergency')},objectName ${meta(`user-${account.userId}/notes/c.webm`)},contentType ${meta('audio/webm')}`,
      },
    });
    if (created.status !== 201) throw new Error(`upload not created: ${created.status}`);
    return { ...account, seeded };
  }

  return {
    server,
    dir,
    clock,
    person,
    signIn,
    async close() {
      await server.app.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
