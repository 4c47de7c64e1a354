import { and, count, eq, is, sql } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { beforeAll, expect, it } from 'vitest';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import * as tables from '@vitalwatch/schema/db/tables';
import { emergencyContacts, moodEntries, users } from '@vitalwatch/schema/db/tables';
import { NO_USER_DATA } from '../data-rights/user-data-tables.ts';
import { provisionUser } from '../auth/identity.ts';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { withUser, type RequestClaims } from './with-user.ts';
import type { Db, Tx } from './database.ts';
import { executeCount, queryRows } from './query-rows.ts';

const claimsOf = (sub: UserId): RequestClaims => ({ sub, role: 'authenticated' });

/** Postgres refused the write for row-level security (42501), not for some other reason. */
async function expectRlsRefusal(write: Promise<unknown>) {
  const error: unknown = await write.then(
    () => null,
    (e: unknown) => e,
  );
  const cause = typeof error === 'object' && error !== null && 'cause' in error ? error.cause : error;
  expect(cause).toMatchObject({ code: '42501', message: expect.stringMatching(/row-level security/) });
}

/** One row per user-owned table for `owner`, written through withUser as that user (proves inserts are allowed). */
async function seedEverything(db: Db, owner: UserId) {
  const incidentId = newId();
  const contactId = newId();
  const moodId = newId();
  await withUser(db, claimsOf(owner), async (tx) => {
    await tx
      .insert(tables.emergencyContacts)
      .values({ id: contactId, userId: owner, name: 'Mum', phoneE164: '+447700900123' });
    await tx.insert(tables.emergencyIncidents).values({
      id: incidentId,
      userId: owner,
      code: 'A7F3',
      trigger: 'panic_button',
      triggeredAt: new Date(),
    });
    await tx.insert(tables.alertLogs).values({
      userId: owner,
      incidentId,
      contactId,
      channel: 'device_sms',
      messageKind: 'alert',
      idempotencyKey: `${contactId}:device_sms:alert:${incidentId}`,
      status: 'composer_opened',
    });
    await tx
      .insert(tables.sensorReadings)
      .values({ id: newId(), userId: owner, recordedAt: new Date(), kind: 1, value: 72 });
    await tx
      .insert(tables.moodEntries)
      .values({ id: moodId, userId: owner, recordedAt: new Date(), mood: 4, note: 'a good day' });
    await tx
      .insert(tables.copingToolsUsage)
      .values({ userId: owner, tool: 'box_breathing', startedAt: new Date() });
    await tx.insert(tables.screenerResults).values({
      id: newId(),
      userId: owner,
      screener: 'gad7',
      answers: [1, 1, 1, 1, 0, 0, 0],
      total: 4,
      completedAt: new Date(),
    });
    await tx
      .insert(tables.aiInsights)
      .values({ userId: owner, kind: 'trend', title: 't', body: 'b', generator: 'rules@1' });
    await tx
      .insert(tables.therapySessions)
      .values({ userId: owner, occurredAt: new Date(), kind: 'therapy' });
    await tx.insert(tables.activityLogs).values({ userId: owner, action: 'mood.create' });
    // Sync bookkeeping and logs (schema/src/db/sync.ts).
    const clientId = newId();
    await tx.insert(tables.syncClients).values({ userId: owner, clientId, lane: 'user', lastSeq: 1 });
    await tx.insert(tables.userVersions).values({ userId: owner, version: 1 });
    await tx.insert(tables.mutationErrors).values({
      userId: owner,
      clientId,
      lane: 'user',
      seq: 1,
      name: 'mood.upsert@1',
      args: {},
      code: 'invalid_args',
      message: 'm',
    });
    await tx.insert(tables.incidentEvents).values({
      id: newId(),
      userId: owner,
      incidentId,
      type: 'location',
      at: new Date(),
      outcome: 'applied',
    });
    await tx.insert(tables.moodRevisions).values({
      userId: owner,
      moodEntryId: moodId,
      previous: { note: { value: 'before', hlc: null } },
      replacedByHlc: '1700000000000-0000-a',
      replacedAtVersion: 1,
    });
    await tx
      .insert(tables.fieldClocks)
      .values({ userId: owner, tableName: 'mood_entries', rowId: moodId, hlcs: {} });
    await tx.insert(tables.contactMerges).values({
      mergedId: newId(),
      userId: owner,
      survivorId: contactId,
      version: 1,
    });
    await tx.insert(tables.mediaFiles).values({
      userId: owner,
      incidentId,
      bucket: 'emergency',
      objectPath: `user-${owner}/incident-${incidentId}/audio.mp3`,
      contentType: 'audio/mpeg',
      sizeBytes: 10,
      sha256: 'a'.repeat(64),
    });
    await tx.insert(tables.pushSubscriptions).values({
      userId: owner,
      endpoint: 'https://push.example.org/sub/1',
      p256dh: 'k',
      auth: 'a',
    });
  });
  // Rows only the server writes.
  await db.insert(tables.inboundSms).values({
    messageSid: `SM${'0'.repeat(32)}`,
    userId: owner,
    receivedAt: new Date(),
    reply: 'OK',
  });
  await db.insert(tables.sosTestMessages).values({
    id: newId(),
    userId: owner,
    testId: newId(),
    contactId,
    contactName: 'Mum',
    toAddress: '+447700900123',
    body: 'TEST from VitalWatch',
    provider: 'twilio',
    createdAt: new Date(),
    updatedAt: new Date(),
  });
  await db.insert(tables.alertLinks).values({
    token: 'AbCdEfGhIjKlMnOp',
    userId: owner,
    incidentId,
    contactId,
    expiresAt: new Date(Date.now() + 60_000),
  });
  await db
    .insert(tables.apiUsage)
    .values({ userId: owner, windowStart: new Date(), route: '/sync/push', requests: 1 });
  await db
    .insert(tables.systemEvents)
    .values({ level: 'info', source: 'test', event: 'seeded', userId: owner });
  const sessionId = newId();
  await db.insert(tables.userSessions).values({
    id: sessionId,
    userId: owner,
    refreshTokenHash: Buffer.from(owner),
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  await db.insert(tables.syncTokens).values({
    tokenHash: Buffer.alloc(32, 1),
    userId: owner,
    sessionId,
    expiresAt: new Date(Date.now() + 900_000),
  });
}

/** Every table of record that has an owner column, with that column's name (not what a deletion leaves, DR6). */
function ownedTables(): Array<{ name: string; table: PgTable; owner: string }> {
  return Object.values(tables)
    .flatMap((t): PgTable[] => (is(t, PgTable) ? [t] : []))
    .filter((table) => !Object.hasOwn(NO_USER_DATA, getTableConfig(table).name))
    .map((table) => {
      const config = getTableConfig(table);
      const owner = config.name === 'users' ? 'id' : 'user_id';
      return { name: config.name, table, owner };
    });
}

async function countOwnedBy(tx: Db | Tx, name: string, ownerColumn: string, owner: UserId): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    tx,
    sql`select count(*)::int as n from ${sql.identifier(name)} where ${sql.identifier(ownerColumn)} = ${owner}`,
  );
  return row?.n ?? -1;
}

describeOnEachDatabase('row-level security through withUser', (database) => {
  const a = newId<UserId>();
  const b = newId<UserId>();

  beforeAll(async () => {
    const { db } = database();
    await db.transaction(async (tx) => {
      await provisionUser(tx, { id: a, email: 'a@example.org', phone: null, passwordHash: null });
      await provisionUser(tx, { id: b, email: 'b@example.org', phone: null, passwordHash: null });
    });
    await seedEverything(db, a);
  });

  it('covers all 22 tables of record + 7 sync tables, each with an owner column', () => {
    expect(
      ownedTables()
        .map((t) => t.name)
        .sort(),
    ).toEqual([
      'activity_logs',
      'ai_insights',
      'alert_links',
      'alert_logs',
      'api_usage',
      'contact_merges',
      'coping_tools_usage',
      'emergency_contacts',
      'emergency_incidents',
      'field_clocks',
      'inbound_sms',
      'incident_events',
      'media_files',
      'mood_entries',
      'mood_revisions',
      'mutation_errors',
      'push_subscriptions',
      'screener_results',
      'sensor_readings',
      'sos_test_messages',
      'subscription_data',
      'sync_clients',
      'sync_tokens',
      'system_events',
      'therapy_sessions',
      'user_sessions',
      'user_settings',
      'user_versions',
      'users',
    ]);
  });

  it("[DB2] user A sees their own row in every table; user B sees none of A's rows", async () => {
    const { db } = database();
    for (const { name, owner } of ownedTables()) {
      const mine = await withUser(db, claimsOf(a), (tx) => countOwnedBy(tx, name, owner, a));
      expect(mine, `${name}: A's own rows`).toBe(1);
      const theirs = await withUser(db, claimsOf(b), (tx) => countOwnedBy(tx, name, owner, a));
      expect(theirs, `${name}: B reading A's rows`).toBe(0);
      // The same query outside withUser (the owner connection) proves the row is really there.
      expect(await countOwnedBy(db, name, owner, a), `${name}: rows that exist`).toBe(1);
    }
  });

  it("[DB2] user B can neither update nor delete A's rows in any table", async () => {
    const { db } = database();
    for (const { name, owner } of ownedTables()) {
      const updated = await withUser(db, claimsOf(b), (tx) =>
        executeCount(
          tx,
          sql`update ${sql.identifier(name)} set ${sql.identifier(owner)} = ${b} where ${sql.identifier(owner)} = ${a}`,
        ),
      );
      const deleted = await withUser(db, claimsOf(b), (tx) =>
        executeCount(tx, sql`delete from ${sql.identifier(name)} where ${sql.identifier(owner)} = ${a}`),
      );
      expect(updated, `${name}: B's update`).toBe(0);
      expect(deleted, `${name}: B's delete`).toBe(0);
      expect(await countOwnedBy(db, name, owner, a), `${name}: A's row after B's attempts`).toBe(1);
    }
  });

  it("[DB2] user B cannot write a row into A's account", async () => {
    const { db } = database();
    await expectRlsRefusal(
      withUser(db, claimsOf(b), (tx) =>
        tx.insert(moodEntries).values({ userId: a, recordedAt: new Date(), mood: 1, note: 'planted by B' }),
      ),
    );
    await expectRlsRefusal(
      withUser(db, claimsOf(b), (tx) =>
        tx.insert(emergencyContacts).values({ userId: a, name: 'Stranger', phoneE164: '+15555550100' }),
      ),
    );
    // Moving one's own row into A's account is refused too (WITH CHECK).
    await withUser(db, claimsOf(b), (tx) =>
      tx.insert(moodEntries).values({ userId: b, recordedAt: new Date(), mood: 3 }),
    );
    await expectRlsRefusal(
      withUser(db, claimsOf(b), (tx) =>
        tx.update(moodEntries).set({ userId: a }).where(eq(moodEntries.userId, b)),
      ),
    );
    const [planted] = await db
      .select({ n: count() })
      .from(moodEntries)
      .where(and(eq(moodEntries.userId, a)));
    expect(planted?.n).toBe(1);
  });

  it('[DB2] a request without claims sees no user data at all', async () => {
    const { db } = database();
    const rows = await db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('role', 'authenticated', true)`);
      return tx.select().from(users);
    });
    expect(rows).toEqual([]);
  });

  it('[DB3] leaves no role or claims behind on the connection (safe behind a transaction-mode pooler)', async () => {
    const { db } = database();
    await withUser(db, claimsOf(a), async () => {});
    const rows = await queryRows<{ who: string; claims: string }>(
      db,
      sql`select current_user as who, coalesce(current_setting('request.jwt.claims', true), '') as claims`,
    );
    expect(rows[0]?.who).not.toBe('authenticated');
    expect(rows[0]?.claims).toBe('');
  });
});
