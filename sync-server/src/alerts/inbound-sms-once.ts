/**
 * Each inbound SMS is applied once (SPEC SE44). Twilio signs a webhook over its URL and parameters but no time,
 * so whoever captured one signed "SAFE <code> 0000" could post it again and again: before this, six replays used
 * up the five PIN tries and locked out the real cancel. The message's `MessageSid` is claimed in `inbound_sms`
 * (its own committed statement) before the reply is applied, and the reply is stored after:
 * - a known sid is answered with the stored reply (Twilio retrying a lost answer gets the same SMS back), or with
 *   no reply while the first delivery is still being answered; nothing is applied again;
 * - if applying fails, the claim is dropped, so Twilio's retry is applied; a crash in between leaves the claim, and
 *   the message is answered with nothing: the contact texts again, and a new message has a new sid;
 * - claims older than INBOUND_SMS_RETENTION_DAYS are deleted as new ones arrive. A replay of an older message is
 *   applied again: by then its incident (codes are never reused for a user) has long been ended by the app or the
 *   contacts, and an ended incident absorbs what a late "SAFE" or "OK" could do.
 */
import { and, eq, isNull, lt } from 'drizzle-orm';
import { inboundSms } from '@vitalwatch/schema/db/tables';
import type { Db } from '../db/database.ts';
import type { SmsReply } from './sms-events.ts';

export const INBOUND_SMS_RETENTION_DAYS = 90;

/** Applies `apply` to the message with this sid unless it already was; returns the text to send back, if any. */
export async function answerInboundOnce(
  deps: { db: Db; now: () => Date },
  sid: string,
  apply: () => Promise<SmsReply>,
): Promise<string | null> {
  const { db } = deps;
  const at = deps.now();
  await db
    .delete(inboundSms)
    .where(lt(inboundSms.receivedAt, new Date(at.getTime() - INBOUND_SMS_RETENTION_DAYS * 86_400_000)));
  const claimed = await db
    .insert(inboundSms)
    .values({ messageSid: sid, receivedAt: at })
    .onConflictDoNothing({ target: inboundSms.messageSid })
    .returning({ sid: inboundSms.messageSid });
  if (claimed.length === 0) {
    const [seen] = await db
      .select({ reply: inboundSms.reply })
      .from(inboundSms)
      .where(eq(inboundSms.messageSid, sid));
    return seen?.reply ?? null;
  }
  let reply: SmsReply;
  try {
    reply = await apply();
  } catch (error) {
    await db.delete(inboundSms).where(and(eq(inboundSms.messageSid, sid), isNull(inboundSms.reply)));
    throw error;
  }
  await db
    .update(inboundSms)
    .set({ reply: reply.text, userId: reply.userId })
    .where(eq(inboundSms.messageSid, sid));
  return reply.text;
}
