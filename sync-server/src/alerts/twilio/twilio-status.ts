/**
 * Twilio's message statuses in our ledger's terms, the order in which they may overwrite each other, status
 * callbacks parsed from their form parameters, and what an error code says about retrying.
 *
 * Callbacks arrive out of order, duplicated, and once per segment of a long message (the same MessageSid again),
 * and Twilio sends none for the first status (the API response carries it). So a callback never sets the status
 * outright: it is applied only when `isLaterStatus(current, next)`. Precedence (higher wins):
 *
 *     pending < queued < sending < sent < delivered < undelivered < failed < canceled < read
 *
 * The first four follow the message through Twilio. The outcomes after `sent` rarely meet on one message, but when
 * they do (one segment delivered, another undelivered) the result must not depend on arrival order, so the worse
 * news wins: a contact who got half an SOS has not been reliably reached. `read` (a read receipt, channels other
 * than SMS) is proof of delivery and beats everything. `canceled` only ends a scheduled message that was never sent.
 * Our own statuses for other channels (`not_configured`, `composer_opened`, …) are outside this order: a Twilio
 * callback never moves them, and nothing moves a Twilio status to one of them.
 */
import * as z from 'zod';
import { parseInput } from '../../http/http-error.ts';
import type { AlertStatus } from '@vitalwatch/schema/protocol/alert-status';

/** The part of AlertStatus a Twilio message moves through. */
export type TwilioLifecycleStatus = Extract<
  AlertStatus,
  'pending' | 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'canceled' | 'read'
>;

export const STATUS_RANK: Readonly<Record<TwilioLifecycleStatus, number>> = {
  pending: 0,
  queued: 1,
  sending: 2,
  sent: 3,
  delivered: 4,
  undelivered: 5,
  failed: 6,
  canceled: 7,
  read: 8,
};

function isLifecycleStatus(status: AlertStatus): status is TwilioLifecycleStatus {
  return Object.hasOwn(STATUS_RANK, status);
}

/** True when `next` may replace `current`; false for duplicates, stale callbacks and non-Twilio statuses. */
export function isLaterStatus(current: AlertStatus, next: AlertStatus): boolean {
  if (!isLifecycleStatus(current) || !isLifecycleStatus(next)) return false;
  return STATUS_RANK[next] > STATUS_RANK[current];
}

/**
 * Every value of the Message resource's `status`, and ours for it. `accepted` (a messaging service took it) and
 * `scheduled` are both "Twilio has it, not yet sending", so `queued`. `partially_delivered` (not an SMS outcome)
 * is `sent`: it reached the carrier, delivery unconfirmed, and a later callback may still settle it.
 * `receiving`/`received` are inbound messages: not a status of anything we send.
 */
const FROM_TWILIO: Readonly<Record<string, TwilioLifecycleStatus | null>> = {
  queued: 'queued',
  accepted: 'queued',
  scheduled: 'queued',
  sending: 'sending',
  sent: 'sent',
  delivered: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  read: 'read',
  canceled: 'canceled',
  partially_delivered: 'sent',
  receiving: null,
  received: null,
};

/** Our status for a Twilio outbound message status, or null when it is not one (unknown or inbound). */
export function toAlertStatus(twilioStatus: string): TwilioLifecycleStatus | null {
  return Object.hasOwn(FROM_TWILIO, twilioStatus) ? (FROM_TWILIO[twilioStatus] ?? null) : null;
}

const OUTBOUND_TWILIO_STATUSES = Object.keys(FROM_TWILIO).filter((status) => FROM_TWILIO[status] != null);

export type ParsedStatus = {
  /** The MessageSid the API response gave us when we sent it. */
  sid: string;
  status: TwilioLifecycleStatus;
  /** Twilio's own word, kept for the ledger (e.g. `accepted` vs `queued`). */
  twilioStatus: string;
  /** Twilio's numeric error code as a string (e.g. "30003"), only on failures. */
  errorCode: string | null;
  errorMessage: string | null;
  accountSid: string;
  to: string | null;
  from: string | null;
  /** The carrier's delivery-receipt time, YYMMDDhhmm in no stated time zone (delivered/undelivered only). */
  rawDlrDoneDate: string | null;
};

/** The form parameters of a webhook: repeated keys become arrays, as Twilio's signature covers them. */
export type TwilioParams = Record<string, string | string[]>;

const Sid = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `must be a Twilio SID (${prefix} + 32 hex)`);
const MessageSid = z.string().regex(/^[A-Z]{2}[0-9a-fA-F]{32}$/, 'must be a Twilio message SID (SM… or MM…)');
const Optional = z.string().optional();

/** Twilio sends more fields than these (ApiVersion, MessagingServiceSid, ChannelPrefix…); they are ignored. */
const StatusCallbackParams = z
  .object({
    MessageSid: MessageSid.optional(),
    SmsSid: MessageSid.optional(),
    MessageStatus: Optional,
    SmsStatus: Optional,
    AccountSid: Sid('AC'),
    ErrorCode: z.string().regex(/^\d*$/, 'must be a numeric Twilio error code').optional(),
    ErrorMessage: Optional,
    To: Optional,
    From: Optional,
    RawDlrDoneDate: Optional,
  })
  .superRefine((params, context) => {
    if (params.MessageSid === undefined && params.SmsSid === undefined) {
      context.addIssue({ code: 'custom', path: ['MessageSid'], message: 'is required' });
    }
    const status = params.MessageStatus ?? params.SmsStatus;
    if (status === undefined) {
      context.addIssue({ code: 'custom', path: ['MessageStatus'], message: 'is required' });
    } else if (toAlertStatus(status) === null) {
      context.addIssue({
        code: 'custom',
        path: ['MessageStatus'],
        message: `unknown Twilio message status "${status}" (expected one of ${OUTBOUND_TWILIO_STATUSES.join(', ')})`,
      });
    }
  });

/** Parses a status callback's form parameters; throws a 400 HttpError naming each bad field. */
export function parseStatusCallback(params: TwilioParams): ParsedStatus {
  const parsed = parseInput(StatusCallbackParams, params, 'body');
  const twilioStatus = parsed.MessageStatus ?? parsed.SmsStatus ?? '';
  const status = toAlertStatus(twilioStatus);
  const sid = parsed.MessageSid ?? parsed.SmsSid;
  // Both were checked by the schema's refinement; this only narrows the types.
  if (status === null || sid === undefined) throw new Error('unreachable: schema admitted a bad callback');
  return {
    sid,
    status,
    twilioStatus,
    errorCode: parsed.ErrorCode ? parsed.ErrorCode : null,
    errorMessage: parsed.ErrorMessage ?? null,
    accountSid: parsed.AccountSid,
    to: parsed.To ?? null,
    from: parsed.From ?? null,
    rawDlrDoneDate: parsed.RawDlrDoneDate ?? null,
  };
}

export type TwilioErrorClass = 'retry-later' | 'never-retry' | 'unknown';

/**
 * What Twilio's error codes say about sending the same text to the same number again. 21xxx come back from the
 * create request; 30xxx arrive later in `undelivered`/`failed` callbacks. Reasons (twilio.com/docs/errors/<code>):
 */
const ERROR_CLASSES: Readonly<Record<number, TwilioErrorClass>> = {
  // Later may work: the handset or network was unavailable, or a rate or queue limit was hit.
  30001: 'retry-later', // queue overflow
  30003: 'retry-later', // unreachable destination handset (off, out of coverage): often temporary
  30008: 'retry-later', // unknown error: Twilio advises retrying
  30009: 'retry-later', // missing segment
  30017: 'retry-later', // carrier network congestion
  30022: 'retry-later', // US A2P 10DLC throughput exceeded
  20429: 'retry-later', // too many requests
  20500: 'retry-later', // Twilio internal error
  20503: 'retry-later', // Twilio unavailable
  // The number, the recipient's choice or the content rules it out: retrying cannot help.
  21211: 'never-retry', // invalid To number
  21214: 'never-retry', // To number cannot be reached
  21408: 'never-retry', // sending to this region is not enabled
  21610: 'never-retry', // the recipient replied STOP (unsubscribed)
  21612: 'never-retry', // cannot route from this From to this To
  21614: 'never-retry', // To is not a mobile number
  21617: 'never-retry', // body too long (over 1600 characters)
  30004: 'never-retry', // blocked by the recipient
  30005: 'never-retry', // unknown destination handset (number does not exist)
  30006: 'never-retry', // landline or unreachable carrier: it cannot receive SMS
  30007: 'never-retry', // carrier filtering: the same text would be filtered again
  30034: 'never-retry', // unregistered US 10DLC sender: needs operator action
};

export function classifyTwilioError(code: string | number | null | undefined): TwilioErrorClass {
  if (code == null || code === '') return 'unknown';
  const numeric = typeof code === 'number' ? code : Number(code);
  return ERROR_CLASSES[numeric] ?? 'unknown';
}
