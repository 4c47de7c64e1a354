/**
 * The Web Push channel: one alert message to every subscribed device of one user (an emergency contact who uses
 * the app), encrypted per RFC 8291 (aes128gcm) and signed with our VAPID key (RFC 8292) by `web-push`, posted with
 * `fetch` (injectable for tests and bounded by a timeout).
 *
 * What the answer means (RFC 8030): 201 = the push service took the message; we never learn whether the device
 * showed it, so the ledger status is `sent`, never `delivered`. Across the user's devices:
 *
 *   ≥ 1 endpoint 2xx                          → accepted, providerMessageId `push:<accepted>/<devices>`, `sent`
 *   none, some 429 / 5xx / network / timeout  → transient (retry later; Retry-After honoured)
 *   none, all 404 / 410, or no subscription   → permanent `no_subscription`
 *   none, others 400 / 401 / 403 / 413 …      → permanent `push_rejected` (our key or payload; retrying cannot help)
 *
 * A 404/410 endpoint is deleted at once (the browser unsubscribed or the permission was revoked). A device that
 * failed transiently while another accepted is not retried: the `topic` makes a later message for the same incident
 * replace an undelivered one at the push service, so the follow-ups still reach it.
 *
 * Subscriptions are read and written as the server (the connection's own role), not under a user's RLS: the
 * dispatcher sends on behalf of the incident's owner to another user's devices.
 */
import { eq, inArray } from 'drizzle-orm';
import webPush from 'web-push';
import { pushSubscriptions } from '@vitalwatch/schema/db/tables';
import type { UserId } from '@vitalwatch/schema/ids';
import type { Db } from '../../db/database.ts';
import type { SendResult } from '../channel.ts';
import type { VapidKeys } from './vapid-keys.ts';
import type { AlertPushPayload } from '@vitalwatch/schema/protocol/alert-push';

export type { AlertPushPayload };

export type PushSendOptions = {
  /** ≤ 32 base64url characters: a later message with the same topic replaces an undelivered one. */
  topic: string;
  /** How long the push service keeps the message for an offline device. */
  ttlSeconds: number;
  urgency: 'high' | 'normal';
};

export type WebPushSender = {
  sendToUser(userId: UserId, payload: AlertPushPayload, options: PushSendOptions): Promise<SendResult>;
};

/** Well under the 4 KiB a push service must accept (RFC 8030 §7.2) once encrypted (+103 bytes). */
export const MAX_PUSH_PAYLOAD_BYTES = 3072;
const MAX_TITLE_CHARS = 120;
const DEFAULT_TIMEOUT_MS = 10_000;
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * The payload as JSON of at most MAX_PUSH_PAYLOAD_BYTES: an over-long title or body is shortened (with "…")
 * rather than the alert not being sent. Throws only if the fixed fields alone are too big (a bug).
 */
export function encodeAlertPushPayload(payload: AlertPushPayload): string {
  const title = truncate(payload.title, MAX_TITLE_CHARS);
  const encode = (body: string) => JSON.stringify({ ...payload, title, body });
  const fits = (json: string) => Buffer.byteLength(json) <= MAX_PUSH_PAYLOAD_BYTES;
  const whole = encode(payload.body);
  if (fits(whole)) return whole;
  if (!fits(encode('…'))) throw new Error('push payload is too large even without its body');
  // The longest prefix (in code points, so no surrogate pair is split) that fits with its "…".
  let lo = 1;
  let hi = [...payload.body].length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(encode(truncate(payload.body, mid)))) lo = mid;
    else hi = mid - 1;
  }
  return encode(truncate(payload.body, lo));
}

/** At most `maxChars` code points, the last one "…" if anything was cut. */
function truncate(text: string, maxChars: number): string {
  const chars = [...text];
  if (chars.length <= maxChars) return text;
  return `${chars.slice(0, Math.max(0, maxChars - 1)).join('')}…`;
}

type DeviceOutcome =
  | { kind: 'accepted'; id: string }
  | { kind: 'gone'; id: string }
  | { kind: 'transient'; errorCode: string; message: string; retryAfterMs?: number }
  | { kind: 'rejected'; errorCode: string; message: string };

/** Retry-After in seconds or as an HTTP date, in ms from `now`. */
function retryAfterMs(value: string | null, now: Date): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

async function responseText(response: Response): Promise<string> {
  try {
    return (await response.text()).slice(0, 200);
  } catch {
    return '';
  }
}

export function createWebPushSender(deps: {
  db: Db;
  vapid: VapidKeys;
  fetchImpl?: typeof fetch;
  now?: () => Date;
  /** Per request to a push service. */
  timeoutMs?: number;
}): WebPushSender {
  const doFetch = deps.fetchImpl ?? ((input, init) => fetch(input, init));
  const now = deps.now ?? (() => new Date());
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const vapidDetails = {
    subject: deps.vapid.subject,
    publicKey: deps.vapid.publicKey,
    privateKey: deps.vapid.privateKey,
  };

  async function sendToDevice(
    subscription: { id: string; endpoint: string; p256dh: string; auth: string },
    body: string,
    options: PushSendOptions,
  ): Promise<DeviceOutcome> {
    const request = webPush.generateRequestDetails(
      { endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } },
      body,
      {
        vapidDetails,
        TTL: options.ttlSeconds,
        urgency: options.urgency,
        topic: options.topic,
        contentEncoding: 'aes128gcm',
      },
    );
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      // fetch sets Content-Length itself from the body.
      if (name.toLowerCase() !== 'content-length') headers.set(name, String(value));
    }
    let response: Response;
    try {
      response = await doFetch(subscription.endpoint, {
        method: 'POST',
        headers,
        body: new Uint8Array(request.body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      return {
        kind: 'transient',
        errorCode: timedOut ? 'push_timeout' : 'push_network',
        message: `${new URL(subscription.endpoint).host}: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    const status = response.status;
    if (response.ok) {
      await response.body?.cancel();
      return { kind: 'accepted', id: subscription.id };
    }
    const text = await responseText(response);
    const where = `${new URL(subscription.endpoint).host} answered ${status}${text === '' ? '' : `: ${text}`}`;
    if (status === 404 || status === 410) return { kind: 'gone', id: subscription.id };
    if (status === 429 || status === 408 || status >= 500) {
      const after = retryAfterMs(response.headers.get('retry-after'), now());
      return {
        kind: 'transient',
        errorCode: status === 429 ? 'push_rate_limited' : `push_http_${status}`,
        message: where,
        ...(after !== undefined && { retryAfterMs: after }),
      };
    }
    return { kind: 'rejected', errorCode: `push_http_${status}`, message: where };
  }

  return {
    async sendToUser(userId, payload, options) {
      if (!TOPIC.test(options.topic))
        throw new TypeError(`push topic must be 1–32 base64url characters, got "${options.topic}"`);
      const body = encodeAlertPushPayload(payload);
      const subscriptions = await deps.db
        .select({
          id: pushSubscriptions.id,
          endpoint: pushSubscriptions.endpoint,
          p256dh: pushSubscriptions.p256dh,
          auth: pushSubscriptions.auth,
        })
        .from(pushSubscriptions)
        .where(eq(pushSubscriptions.userId, userId));
      if (subscriptions.length === 0)
        return {
          outcome: 'permanent',
          errorCode: 'no_subscription',
          message: 'no device of this user is subscribed to alerts',
        };

      const outcomes = await Promise.all(subscriptions.map((s) => sendToDevice(s, body, options)));

      const accepted = outcomes.flatMap((o) => (o.kind === 'accepted' ? [o.id] : []));
      const gone = outcomes.flatMap((o) => (o.kind === 'gone' ? [o.id] : []));
      if (gone.length > 0) await deps.db.delete(pushSubscriptions).where(inArray(pushSubscriptions.id, gone));
      if (accepted.length > 0) {
        await deps.db
          .update(pushSubscriptions)
          .set({ lastSuccessAt: now() })
          .where(inArray(pushSubscriptions.id, accepted));
        return {
          outcome: 'accepted',
          // Unique per message (the topic is), as the ledger's (provider, provider_message_id) index requires.
          providerMessageId: `push:${accepted.length}/${subscriptions.length}:${options.topic}`,
          status: 'sent',
        };
      }

      const transient = outcomes.flatMap((o) => (o.kind === 'transient' ? [o] : []));
      const first = transient[0];
      if (first !== undefined) {
        const waits = transient.flatMap((o) => (o.retryAfterMs === undefined ? [] : [o.retryAfterMs]));
        return {
          outcome: 'transient',
          errorCode: first.errorCode,
          message: transient.map((o) => o.message).join('; '),
          ...(waits.length > 0 && { retryAfterMs: Math.max(...waits) }),
        };
      }
      const rejected = outcomes.flatMap((o) => (o.kind === 'rejected' ? [o] : []));
      if (rejected.length === 0)
        return {
          outcome: 'permanent',
          errorCode: 'no_subscription',
          message: `every subscription of this user was gone (404/410) and is removed (${gone.length})`,
        };
      return {
        outcome: 'permanent',
        errorCode: 'push_rejected',
        message: rejected.map((o) => `${o.errorCode} ${o.message}`).join('; '),
      };
    },
  };
}
