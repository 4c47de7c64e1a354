/**
 * What every alert channel (Twilio SMS, Web Push, realtime) answers when asked to send one message. The
 * dispatcher (dispatcher.ts) turns the answer into the ledger row's next status: an accepted message gets the
 * provider's first status (Twilio sends no callback for it), a transient failure is retried with backoff, a
 * permanent one never is.
 */
import type { AlertStatus } from '@vitalwatch/schema/protocol/alert-status';

export type SendResult =
  /** The provider took the message; `status` is what it said (e.g. Twilio's `queued` or `accepted`). */
  | { outcome: 'accepted'; providerMessageId: string; status: AlertStatus; segments?: number }
  /** Worth trying again later (network error, 429, 5xx, Twilio 30003…). */
  | { outcome: 'transient'; errorCode: string; message: string; retryAfterMs?: number }
  /** Trying again cannot help (invalid number, landline, unsubscribed endpoint…). */
  | { outcome: 'permanent'; errorCode: string; message: string };

/** A message the provider already has, found after a crash left our record of the send in doubt. */
export type FoundMessage = { providerMessageId: string; status: AlertStatus; segments?: number };
