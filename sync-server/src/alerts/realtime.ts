/**
 * The realtime channel: an alert shown at once in the contact's open VitalWatch app.
 * - By default through the server's own event stream (`GET /sync/events`, event `alert`): `sent` when the event
 *   was written to at least one of the contact's open streams on this instance, `failed` (`no_open_app`) when none
 *   was open; the SMS and the push notification carry the alert then.
 * - With `SUPABASE_URL` and `SUPABASE_SERVICE_KEY`: Supabase Realtime broadcast (`POST /realtime/v1/api/broadcast`)
 *   on the topic `alerts:<contact user id>`; Supabase answers 202 and says nothing about delivery, so `sent`.
 *
 * Neither is ever `delivered` (SPEC AL32): a write to a stream proves no screen showed it. The open app puts the
 * alert on screen with sound and posts the payload's receipt token (receipt-routes.ts); only that makes the row
 * `shown`, which counts as observed reach (schema/src/protocol/alert-status.ts).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AlertPayload, RealtimeSender } from './alert-channels.ts';
import type { SendResult } from './channel.ts';

export type AlertListener = (payload: AlertPayload) => void;

/** In-process fan-out of alerts to the event streams open on this instance. */
export class AlertHub implements RealtimeSender {
  readonly name = 'sse';
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  subscribe(userId: string, listener: AlertListener): () => void {
    this.emitter.on(userId, listener);
    return () => this.emitter.off(userId, listener);
  }

  async broadcast(userId: string, payload: AlertPayload): Promise<SendResult> {
    // No open app on this instance: this channel did not reach them (the SMS and the notification may), and a
    // retry would not open one.
    if (this.emitter.listenerCount(userId) === 0) {
      return { outcome: 'permanent', errorCode: 'no_open_app', message: 'No open app to show it.' };
    }
    this.emitter.emit(userId, payload);
    return { outcome: 'accepted', providerMessageId: randomUUID(), status: 'sent' };
  }
}

export function supabaseRealtime(
  config: { url: string; serviceKey: string },
  fetchImpl: typeof fetch = fetch,
): RealtimeSender {
  return {
    name: 'supabase_realtime',
    async broadcast(userId, payload) {
      let response: Response;
      try {
        response = await fetchImpl(`${config.url}/realtime/v1/api/broadcast`, {
          method: 'POST',
          headers: {
            apikey: config.serviceKey,
            authorization: `Bearer ${config.serviceKey}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ messages: [{ topic: `alerts:${userId}`, event: 'alert', payload }] }),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (error) {
        return { outcome: 'transient', errorCode: 'network', message: String(error) };
      }
      if (response.ok) {
        return { outcome: 'accepted', providerMessageId: randomUUID(), status: 'sent' };
      }
      const message = `Supabase Realtime answered ${response.status}: ${(await response.text()).slice(0, 200)}`;
      return response.status === 429 || response.status >= 500
        ? { outcome: 'transient', errorCode: `http_${response.status}`, message }
        : { outcome: 'permanent', errorCode: `http_${response.status}`, message };
    },
  };
}
