/**
 * For the data-rights tests: a row of the user in every table that holds user data (what sign-up, sign-in and an
 * upload do not write themselves is inserted as the server would), and counts of rows and stored files by user.
 * A table added to the schema with a `user_id` makes `seedEveryTable`'s check fail until a row is added here.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import * as t from '@vitalwatch/schema/db/tables';
import { newId } from '@vitalwatch/schema/ids';
import type { Db } from '../src/db/database.ts';
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
