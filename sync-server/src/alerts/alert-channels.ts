/**
 * The alert channels the dispatcher (dispatcher.ts) sends through, and what a notification or realtime message
 * carries. Kept apart from the dispatcher so planning (plan-incidents.ts) and the channels (realtime.ts, the Web
 * Push sender) depend on these types, not on the dispatcher that depends on them.
 */
import type { MessageKind } from './alert-plan.ts';
import type { FoundMessage, SendResult } from './channel.ts';

export type SmsProvider = {
  /** Stored in `alert_logs.provider`, with the provider's message id unique under it. */
  name: string;
  send(to: string, body: string): Promise<SendResult>;
  /** The message with exactly this body sent to `to` since `since`, if the provider has it. */
  findSent(to: string, body: string, since: Date): Promise<FoundMessage | null>;
};

/** What a notification or realtime message carries. */
export type AlertPayload = {
  kind: MessageKind;
  incidentId: string;
  title: string;
  body: string;
  /** The contact's `/a/<token>` page; null without PUBLIC_URL. */
  url: string | null;
  /**
   * The token the contact's device posts back once the alert is on screen (receipt-routes.ts); absent from rows
   * planned before receipts existed.
   */
  receipt?: string;
};

export type PushSender = {
  sendToUser(
    userId: string,
    payload: AlertPayload,
    options: { topic: string; ttlSeconds: number },
  ): Promise<SendResult>;
};

export type RealtimeSender = {
  name: string;
  broadcast(userId: string, payload: AlertPayload): Promise<SendResult>;
};

export type AlertChannels = {
  /** null: no SMS provider configured; SMS rows are recorded as `not_configured`, nothing pretends to send. */
  sms: SmsProvider | null;
  webPush: PushSender | null;
  realtime: RealtimeSender | null;
};
