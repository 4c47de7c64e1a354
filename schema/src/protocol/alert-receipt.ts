/**
 * A receipt from a contact's device (SPEC AL31–AL33): "this alert is on my screen". The service worker sends one
 * when it has shown a Web Push notification, the open app when it has put a realtime alert on screen. The only
 * credential is `receipt`, a token the server put into that one message's payload (`<ledger row id>.<secret>`),
 * so a receipt can mark that row and nothing else, and needs no sign-in: the contact's phone may be signed out.
 */
import * as z from 'zod/mini';
import { UuidV7 } from './common.ts';

export const ALERT_RECEIPTS_PATH = '/api/v1/alert-receipts';

/** `<ledger row id (UUIDv7)>.<128 random bits, base64url>`. */
export const RECEIPT_TOKEN_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.[A-Za-z0-9_-]{22}$/;

export const ReceiptToken = z.string().check(z.regex(RECEIPT_TOKEN_PATTERN));

/** `POST ALERT_RECEIPTS_PATH`'s body. */
export const AlertReceipt = z.strictObject({
  /** The incident the payload named; a receipt for another incident's message is refused. */
  incidentId: UuidV7,
  receipt: ReceiptToken,
});
export type AlertReceipt = z.infer<typeof AlertReceipt>;

/** The answer: the row is `shown` now (`already`: it was before this receipt). */
export const AlertReceiptAnswer = z.strictObject({ status: z.literal('shown'), already: z.boolean() });
export type AlertReceiptAnswer = z.infer<typeof AlertReceiptAnswer>;
