/**
 * "Test my SOS" through the server's SMS (issue #14, SPEC SO44–SO46):
 * - `POST /api/v1/sos-test` texts each tier-1 contact who gets SMS a message marked TEST (schema/src/sms/test-sms.ts)
 *   and answers with one outcome per contact. It creates no incident, no alert ledger row and no escalation: its
 *   rows live in `sos_test_messages`, which nothing plans or dispatches from. At most TESTS_PER_HOUR tests per
 *   account per hour (counted in the database, so it holds across restarts and instances): `429` after that.
 * - `GET /api/v1/sos-test/:id` reads that test again: each contact's status as the provider reported it (status
 *   callbacks move it, never backwards) and the contact's reply, once one came (`recordTestReply`).
 * Without an SMS provider the route answers `409 sms_not_configured`: the app then texts from the phone's own
 * messaging app (`/config.json` tells it beforehand which one applies).
 */
import type { FastifyInstance } from 'fastify';
import { and, asc, desc, eq, gte, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { emergencyContacts, sosTestMessages, users } from '@vitalwatch/schema/db/tables';
import type { AlertStatusEntry } from '@vitalwatch/schema/db/safety';
import { buildTestSms } from '@vitalwatch/schema/sms/test-sms';
import type { Db } from '../db/database.ts';
import { withUser } from '../db/with-user.ts';
import { queryRows } from '../db/query-rows.ts';
import { lockUserVersion } from '../db/user-version.ts';
import type { Identity } from '../auth/identity.ts';
import { authenticateFirst, callerOf } from '../http/authenticate-first.ts';
import { HttpError, parseInput, tooManyRequests } from '../http/http-error.ts';
import type { AlertStatus } from '@vitalwatch/schema/protocol/alert-status';
import type { SendResult } from './channel.ts';
import type { SmsProvider } from './alert-channels.ts';
import { isLaterStatus } from './twilio/twilio-status.ts';

/** Tests one account may start in an hour: enough to fix a number and try again, too few to spam anyone. */
export const TESTS_PER_HOUR = 3;
const HOUR_MS = 3_600_000;
/** A reply counts for a test sent this recently (and only while no alert was sent to that number since). */
export const TEST_REPLY_WINDOW_MS = 24 * HOUR_MS;
/** Tier-1 contacts texted by one test, at most (the same cap as one incident's first step). */
const MAX_CONTACTS = 20;

const TestParams = z.strictObject({ id: z.uuid() });

type TestRow = typeof sosTestMessages.$inferSelect;

/** One contact's outcome as the app shows it. */
function outcomeJson(row: TestRow) {
  return {
    contact_id: row.contactId,
    name: row.contactName,
    to: row.toAddress,
    status: row.status,
    error_code: row.errorCode,
    history: row.statusHistory,
    reply: row.replyBody === null ? null : { body: row.replyBody, at: row.repliedAt?.toISOString() ?? null },
  };
}

function testJson(testId: string, rows: readonly TestRow[]) {
  return {
    test_id: testId,
    created_at: rows[0]?.createdAt.toISOString() ?? null,
    contacts: rows.map(outcomeJson),
  };
}

export async function registerSosTestRoutes(
  app: FastifyInstance,
  deps: { db: Db; identity: Identity; now: () => Date; sms: SmsProvider | null },
): Promise<void> {
  const authenticated = { onRequest: authenticateFirst(deps.identity) };

  app.post('/api/v1/sos-test', authenticated, async (request, reply) => {
    const caller = callerOf(request);
    const { sms } = deps;
    if (sms === null) {
      throw new HttpError(
        409,
        'sms_not_configured',
        'This server cannot send SMS. Test from your phone instead: it opens a text to each contact.',
      );
    }
    const at = deps.now();
    // The contacts and the name as the user's own rows say (row-level security), outside the lock.
    const { contacts, name } = await withUser(deps.db, caller.claims, async (tx) => {
      const contacts = await tx
        .select({
          id: emergencyContacts.id,
          name: emergencyContacts.name,
          phone: emergencyContacts.phoneE164,
        })
        .from(emergencyContacts)
        .where(
          and(
            eq(emergencyContacts.userId, caller.userId),
            eq(emergencyContacts.tier, 1),
            eq(emergencyContacts.notifyBySms, true),
            isNull(emergencyContacts.deletedAt),
          ),
        )
        .orderBy(asc(emergencyContacts.createdAt))
        .limit(MAX_CONTACTS);
      const [user] = await tx
        .select({ name: users.displayName })
        .from(users)
        .where(eq(users.id, caller.userId));
      return { contacts, name: user?.name ?? '' };
    });
    if (contacts.length === 0) {
      throw new HttpError(
        400,
        'no_contacts',
        'Add a first-tier contact who gets texts (Contacts), then test again.',
      );
    }
    const body = buildTestSms(name);
    const testId = newId();
    const rows = await deps.db.transaction(async (tx) => {
      // The user's counter row serialises this account's tests, so two at once cannot both pass the count.
      await lockUserVersion(tx, caller.userId);
      const recent = await tx
        .select({ testId: sosTestMessages.testId, createdAt: sosTestMessages.createdAt })
        .from(sosTestMessages)
        .where(
          and(
            eq(sosTestMessages.userId, caller.userId),
            gte(sosTestMessages.createdAt, new Date(at.getTime() - HOUR_MS)),
          ),
        )
        .orderBy(asc(sosTestMessages.createdAt));
      const tests = [...new Map(recent.map((r) => [r.testId, r.createdAt])).values()];
      if (tests.length >= TESTS_PER_HOUR) {
        const oldest = tests[0]!.getTime();
        throw tooManyRequests(
          oldest + HOUR_MS - at.getTime(),
          `You can test ${TESTS_PER_HOUR} times an hour, so your contacts are not flooded.`,
        );
      }
      return tx
        .insert(sosTestMessages)
        .values(
          contacts.map((c) => ({
            id: newId(),
            userId: caller.userId,
            testId,
            contactId: c.id,
            contactName: c.name,
            toAddress: c.phone,
            body,
            provider: sms.name,
            statusHistory: [{ status: 'pending', at: at.toISOString() }],
            createdAt: at,
            updatedAt: at,
          })),
        )
        .returning();
    });
    const sent = await Promise.all(rows.map((row) => sendOne(deps, sms, row)));
    return reply.status(201).send(testJson(testId, sent));
  });

  app.get('/api/v1/sos-test/:id', authenticated, async (request) => {
    const caller = callerOf(request);
    const { id } = parseInput(TestParams, request.params, 'path');
    const rows = await withUser(deps.db, caller.claims, (tx) =>
      tx
        .select()
        .from(sosTestMessages)
        .where(and(eq(sosTestMessages.userId, caller.userId), eq(sosTestMessages.testId, id)))
        .orderBy(asc(sosTestMessages.createdAt), asc(sosTestMessages.id)),
    );
    if (rows.length === 0) throw new HttpError(404, 'not_found', 'no such test');
    return testJson(id, rows);
  });
}

/** Sends one test message and records what the provider answered (its first status: no callback brings it). */
async function sendOne(deps: { db: Db; now: () => Date }, sms: SmsProvider, row: TestRow): Promise<TestRow> {
  let result: SendResult;
  try {
    result = await sms.send(row.toAddress, row.body);
  } catch (error) {
    result = { outcome: 'transient', errorCode: 'send_error', message: String(error) };
  }
  const at = deps.now();
  // A test is never retried: a failure is what the user needs to see, to fix the number.
  const status: AlertStatus = result.outcome === 'accepted' ? result.status : 'failed';
  const entry: AlertStatusEntry = {
    status,
    at: at.toISOString(),
    ...(result.outcome !== 'accepted' && { errorCode: result.errorCode }),
  };
  const [updated] = await deps.db
    .update(sosTestMessages)
    .set({
      status,
      statusHistory: sql`${sosTestMessages.statusHistory} || ${JSON.stringify([entry])}::jsonb`,
      ...(result.outcome === 'accepted'
        ? { providerMessageId: result.providerMessageId }
        : { errorCode: result.errorCode }),
      updatedAt: at,
    })
    .where(eq(sosTestMessages.id, row.id))
    .returning();
  return updated ?? row;
}

/**
 * A status callback for a test message (SPEC SO45): moves its status forward only, keeps every distinct status in
 * its history. Returns false when the message is not a test (the caller found no alert either).
 */
export async function applyTestSmsStatus(
  deps: { db: Db; now: () => Date; provider: string },
  update: { sid: string; status: AlertStatus; errorCode: string | null },
): Promise<boolean> {
  const at = deps.now();
  return deps.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(sosTestMessages)
      .where(
        and(eq(sosTestMessages.provider, deps.provider), eq(sosTestMessages.providerMessageId, update.sid)),
      )
      .for('update');
    if (row === undefined) return false;
    const seen = row.statusHistory.some(
      (e) => e.status === update.status && (e.errorCode ?? null) === update.errorCode,
    );
    const later = isLaterStatus(row.status, update.status);
    if (seen && !later) return true;
    const entry: AlertStatusEntry = {
      status: update.status,
      at: at.toISOString(),
      ...(update.errorCode !== null && { errorCode: update.errorCode }),
    };
    await tx
      .update(sosTestMessages)
      .set({
        statusHistory: sql`${sosTestMessages.statusHistory} || ${JSON.stringify([entry])}::jsonb`,
        ...(later && { status: update.status, errorCode: update.errorCode }),
        updatedAt: at,
      })
      .where(eq(sosTestMessages.id, row.id));
    return true;
  });
}

/**
 * An inbound SMS that answers a test (SPEC SO46): from a number texted a test in the last TEST_REPLY_WINDOW_MS
 * that has not replied yet, with no alert sent to that number since. The first reply is kept as written (up to
 * 320 characters) and the contact is thanked; null = not a test reply (the caller handles it as before).
 */
export async function recordTestReply(
  deps: { db: Db; now: () => Date },
  message: { from: string; body: string },
): Promise<{ text: string; userId: UserId } | null> {
  const at = deps.now();
  const [test] = await deps.db
    .select({ id: sosTestMessages.id, userId: sosTestMessages.userId, createdAt: sosTestMessages.createdAt })
    .from(sosTestMessages)
    .where(
      and(
        eq(sosTestMessages.toAddress, message.from),
        isNull(sosTestMessages.replyBody),
        gte(sosTestMessages.createdAt, new Date(at.getTime() - TEST_REPLY_WINDOW_MS)),
      ),
    )
    .orderBy(desc(sosTestMessages.createdAt))
    .limit(1);
  if (test === undefined) return null;
  // A real alert sent to this number after the test is what a reply answers.
  const later = await queryRows<{ one: number }>(
    deps.db,
    sql`select 1 as one from alert_logs where channel = 'sms' and to_address = ${message.from}
        and created_at > ${test.createdAt.toISOString()} limit 1`,
  );
  if (later.length > 0) return null;
  await deps.db
    .update(sosTestMessages)
    .set({ replyBody: message.body.trim().slice(0, 320), repliedAt: at, updatedAt: at })
    .where(eq(sosTestMessages.id, test.id));
  const [owner] = await deps.db
    .select({ name: users.displayName })
    .from(users)
    .where(eq(users.id, test.userId));
  const who = owner?.name ?? 'The person who tested';
  return {
    text: `VitalWatch: thank you. ${who} can see your reply to the test. Nothing else to do.`,
    userId: test.userId as UserId,
  };
}
