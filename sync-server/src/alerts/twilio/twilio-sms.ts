/**
 * The SMS channel over Twilio's Messages API (REST, form-encoded, HTTP Basic auth), without Twilio's SDK so that
 * `apiUrl` can point at a local fake in tests.
 *
 * `send` turns every answer into a SendResult: 201 → accepted with the first status (Twilio sends no callback for
 * it); an error whose code rules the message out (invalid number, STOP, landline…) → permanent; rate limits, 5xx,
 * network failures and timeouts → transient. Credentials or URL refused (401/403/404 without such a code) is
 * transient too: the alert is still worth sending once the operator fixes the configuration, and the dispatcher's
 * retry budget bounds it.
 *
 * Twilio has no idempotency key for creating messages. A send that timed out, lost its connection, got a 5xx or a
 * garbled 201 may still have created the message (`mayHaveBeenSent`), and a crash between Twilio's answer and our
 * commit leaves the same doubt. `findSent` settles it: it looks the message up by recipient, exact body and time,
 * so the dispatcher neither sends it twice nor loses it.
 */
import * as z from 'zod';
import type { FoundMessage, SendResult } from '../channel.ts';
import { classifyTwilioError, toAlertStatus } from './twilio-status.ts';

export type TwilioConfig = {
  accountSid: string;
  authToken: string;
  /** A Twilio number; used when no messaging service is set. */
  from: string | null;
  /** Takes precedence over `from` when both are set (Twilio then picks the sender from the service's pool). */
  messagingServiceSid: string | null;
  /** Twilio's API origin; config reading defaults it to https://api.twilio.com. */
  apiUrl: string;
  /** Where Twilio posts status callbacks (PUBLIC_URL + /webhooks/twilio/status); null = no callbacks. */
  statusCallbackUrl: string | null;
};

export type TwilioSmsOptions = {
  /** Per-request timeout, covering the answer's body too. */
  timeoutMs?: number;
  /** Most pages `findSent` reads per search. */
  maxPages?: number;
  now?: () => Date;
};

export type TwilioSms = {
  send(to: string, body: string): Promise<SendResult>;
  /** The message Twilio holds with this recipient and exact body, created at or after `since` (1 min slack). */
  findSent(to: string, body: string, since: Date): Promise<FoundMessage | null>;
  /** A message's current status by SID (for callbacks that never came); null if Twilio has no such message. */
  fetchMessage(sid: string): Promise<FoundMessage | null>;
};

export const DEFAULT_TIMEOUT_MS = 10_000;
const FIND_SLACK_MS = 60_000;
const PAGE_SIZE = 100;

/**
 * Transient results where Twilio certainly created nothing: rate limited, or our credentials or URL refused.
 * Every other transient failure (timeout, lost connection, 5xx, an unreadable 201) may have created the message.
 */
const SURELY_NOT_CREATED = new Set([
  'http_429',
  '20429',
  'http_401',
  'http_403',
  'http_404',
  '20003',
  '20404',
]);

/** True when a failed send may nevertheless have created the message: call `findSent` before sending again. */
export function mayHaveBeenSent(result: SendResult): boolean {
  return result.outcome === 'transient' && !SURELY_NOT_CREATED.has(result.errorCode);
}

/** num_segments is a string in Twilio's JSON ("1"), and "0" when a messaging service has not counted yet. */
const Segments = z.union([z.string(), z.number()]).nullish();

const MessageJson = z.object({
  sid: z.string().min(1),
  status: z.string(),
  num_segments: Segments,
  body: z.string().nullish(),
  to: z.string().nullish(),
  direction: z.string().nullish(),
  date_created: z.string().nullish(),
});
type MessageJson = z.infer<typeof MessageJson>;

const MessageListJson = z.object({
  messages: z.array(MessageJson),
  next_page_uri: z.string().nullish(),
});

const ErrorJson = z.object({
  code: z.union([z.number(), z.string()]).nullish(),
  message: z.string().nullish(),
  more_info: z.string().nullish(),
});

function segmentsOf(value: z.infer<typeof Segments>): number | undefined {
  const count = typeof value === 'number' ? value : Number(value ?? 0);
  return Number.isInteger(count) && count > 0 ? count : undefined;
}

function foundMessage(message: MessageJson): FoundMessage {
  const segments = segmentsOf(message.num_segments);
  return {
    providerMessageId: message.sid,
    // An unknown status still names a message Twilio has; `queued` claims no more than that.
    status: toAlertStatus(message.status) ?? 'queued',
    ...(segments === undefined ? {} : { segments }),
  };
}

/** Retry-After as delta-seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: Date): number | undefined {
  if (header == null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

function transportFailure(error: unknown): SendResult {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { outcome: 'transient', errorCode: 'timeout', message: 'Twilio did not answer in time' };
  }
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const message = error instanceof Error ? `${error.message}${cause}` : String(error);
  return { outcome: 'transient', errorCode: 'network', message: `could not reach Twilio: ${message}` };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function createTwilioSms(
  config: TwilioConfig,
  fetchImpl: typeof fetch = fetch,
  options: TwilioSmsOptions = {},
): TwilioSms {
  if (!config.from && !config.messagingServiceSid) {
    throw new Error('Twilio needs a sender: set TWILIO_FROM or a messaging service SID');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxPages = options.maxPages ?? 5;
  const now = options.now ?? (() => new Date());
  const apiOrigin = config.apiUrl.replace(/\/+$/, '');
  const messagesPath = `/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages`;
  const authorization = `Basic ${Buffer.from(`${config.accountSid}:${config.authToken}`).toString('base64')}`;

  function request(pathAndQuery: string, init: { method: 'GET' | 'POST'; body?: URLSearchParams }) {
    return fetchImpl(apiOrigin + pathAndQuery, {
      method: init.method,
      headers: {
        authorization,
        accept: 'application/json',
        ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.body ? { body: init.body } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  function refused(status: number, text: string, retryAfter: string | null): SendResult {
    const error = ErrorJson.safeParse(parseJson(text));
    const code = error.success && error.data.code != null ? String(error.data.code) : null;
    const errorCode = code ?? `http_${status}`;
    const message = (error.success && error.data.message) || `Twilio answered HTTP ${status}`;
    const retryAfterMs = parseRetryAfter(retryAfter, now());
    const transient: SendResult = {
      outcome: 'transient',
      errorCode,
      message,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
    switch (classifyTwilioError(code)) {
      case 'never-retry':
        return { outcome: 'permanent', errorCode, message };
      case 'retry-later':
        return transient;
      case 'unknown':
        break;
    }
    if (status === 408 || status === 429 || status >= 500) return transient;
    if (status === 401 || status === 403 || status === 404) {
      return {
        ...transient,
        message: `${message} (check TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_URL)`,
      };
    }
    return { outcome: 'permanent', errorCode, message };
  }

  async function getJson(pathAndQuery: string): Promise<{ status: number; json: unknown; text: string }> {
    const response = await request(pathAndQuery, { method: 'GET' });
    const text = await response.text();
    return { status: response.status, json: parseJson(text), text };
  }

  /** Reads up to maxPages of a list query; `stop` ends early when a page shows nothing newer can follow. */
  async function search(
    query: URLSearchParams,
    stop: (page: MessageJson[]) => boolean,
  ): Promise<MessageJson[]> {
    const found: MessageJson[] = [];
    let next: string | null = `${messagesPath}.json?${query.toString()}`;
    for (let page = 0; next !== null && page < maxPages; page++) {
      const { status, json, text } = await getJson(next);
      if (status < 200 || status >= 300) {
        throw new Error(`Twilio message list answered HTTP ${status}: ${text.slice(0, 300)}`);
      }
      const list = MessageListJson.safeParse(json);
      if (!list.success)
        throw new Error(`Twilio message list is not the expected JSON: ${text.slice(0, 300)}`);
      found.push(...list.data.messages);
      if (stop(list.data.messages)) break;
      next = list.data.next_page_uri ?? null;
    }
    return found;
  }

  return {
    async send(to, body) {
      const form = new URLSearchParams({ To: to, Body: body });
      if (config.messagingServiceSid) form.set('MessagingServiceSid', config.messagingServiceSid);
      else if (config.from) form.set('From', config.from);
      if (config.statusCallbackUrl) form.set('StatusCallback', config.statusCallbackUrl);

      let status: number;
      let text: string;
      let retryAfter: string | null;
      try {
        const response = await request(`${messagesPath}.json`, { method: 'POST', body: form });
        status = response.status;
        retryAfter = response.headers.get('retry-after');
        text = await response.text();
      } catch (error) {
        return transportFailure(error);
      }
      if (status < 200 || status >= 300) return refused(status, text, retryAfter);

      const message = MessageJson.safeParse(parseJson(text));
      if (!message.success) {
        // Twilio said yes but we cannot read the SID: the message probably exists, so this is "in doubt".
        return {
          outcome: 'transient',
          errorCode: 'bad_response',
          message: `Twilio answered HTTP ${status} with an unreadable body: ${text.slice(0, 200)}`,
        };
      }
      const found = foundMessage(message.data);
      return { outcome: 'accepted', ...found };
    },

    async findSent(to, body, since) {
      const cutoff = since.getTime() - FIND_SLACK_MS;
      const createdAt = (message: MessageJson) => Date.parse(message.date_created ?? '');
      const matches = (message: MessageJson) =>
        message.body === body &&
        (message.direction ?? 'outbound-api').startsWith('outbound') &&
        createdAt(message) >= cutoff;
      const earliest = (messages: MessageJson[]) =>
        messages.filter(matches).sort((a, b) => createdAt(a) - createdAt(b))[0] ?? null;

      // 1. Sent messages: Twilio's DateSent filter (`DateSent>=YYYY-MM-DD`, the key is `DateSent>`), UTC day.
      const day = new Date(cutoff).toISOString().slice(0, 10);
      const sentQuery = new URLSearchParams({ To: to, 'DateSent>': day, PageSize: String(PAGE_SIZE) });
      const sent = earliest(await search(sentQuery, () => false));
      if (sent) return foundMessage(sent);

      // 2. Messages not sent yet (queued, accepted, scheduled) have no date_sent, so the DateSent filter may hide
      // them: read the recipient's newest messages until a page holds only ones created before the cutoff.
      const recentQuery = new URLSearchParams({ To: to, PageSize: String(PAGE_SIZE) });
      const recent = await search(recentQuery, (page) =>
        page.every((message) => createdAt(message) < cutoff),
      );
      const unsent = earliest(recent);
      return unsent ? foundMessage(unsent) : null;
    },

    async fetchMessage(sid) {
      const { status, json, text } = await getJson(`${messagesPath}/${encodeURIComponent(sid)}.json`);
      if (status === 404) return null;
      if (status < 200 || status >= 300)
        throw new Error(`Twilio answered HTTP ${status}: ${text.slice(0, 300)}`);
      const message = MessageJson.safeParse(json);
      if (!message.success) throw new Error(`Twilio message is not the expected JSON: ${text.slice(0, 300)}`);
      return foundMessage(message.data);
    },
  };
}
