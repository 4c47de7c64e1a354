/**
 * The Web Push message of an alert (issue #5): what the server encrypts for a contact's device
 * (sync-server/src/alerts/web-push/web-push-sender.ts) and the service worker shows (sw/src/push-notifications.ts).
 */
import * as z from 'zod/mini';

export const ALERT_PUSH_KINDS = ['alert', 'escalation', 'location_update', 'all_clear'] as const;
export type AlertPushKind = (typeof ALERT_PUSH_KINDS)[number];

/**
 * As the worker parses it: `kind` is any string, so a newer server's kind is still shown by yesterday's worker.
 */
export const AlertPush = z.object({
  kind: z.string(),
  incidentId: z.string(),
  title: z.string(),
  body: z.string(),
  /**
   * The contact's page for this incident, `/a/<token>` (absolute or same-origin). Web Push always has one (`/`
   * without PUBLIC_URL); a realtime event has null then.
   */
  url: z.nullable(z.string()),
  /**
   * This message's receipt token (alert-receipt.ts): the worker and the open app post it back once the alert is on
   * screen. Absent from servers before receipts (the alert is then shown and nothing is reported).
   */
  receipt: z.optional(z.string()),
});

/** As the server sends it. */
export type AlertPushPayload = z.infer<typeof AlertPush> & { kind: AlertPushKind };
