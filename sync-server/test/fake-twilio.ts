/**
 * A local stand-in for Twilio's Messages API, reached over real HTTP through `TWILIO_API_URL`, and for Twilio's
 * webhooks, which it posts signed exactly as Twilio signs them.
 *
 * API: `POST /2010-04-01/Accounts/{AC}/Messages.json` creates a message (201, Twilio's JSON fields and formats:
 * `SM` + 32 hex, status `queued`, or `accepted` with a messaging service, num_segments as a string, RFC 2822
 * dates); `GET …/Messages.json` lists them newest first with the `To`, `From`, `DateSent`, `DateSent>` and
 * `DateSent<` filters and paging (`next_page_uri`); `GET …/Messages/{SM}.json` reads one. A wrong Basic auth gets
 * Twilio's 401 (code 20003). As on Twilio, a message exists once its create request has *arrived*, whatever then
 * happens to the response: `holdRequests()` and `respondAfter()` delay responses to model a crash or a timeout
 * between Twilio accepting and us recording.
 *
 * Every request is recorded (method, path, parsed params, auth, time); `waitForRequest` resolves when one matching
 * arrives, so tests wait on events, never on sleeps.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { twilioSignature } from '../src/alerts/twilio/twilio-signature.ts';

export type FakeMessageStatus =
  | 'accepted'
  | 'queued'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'undelivered'
  | 'failed'
  | 'read'
  | 'canceled'
  | 'received';

export type FakeMessage = {
  sid: string;
  accountSid: string;
  direction: 'outbound-api' | 'inbound';
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  status: FakeMessageStatus;
  numSegments: number;
  dateCreated: Date;
  dateUpdated: Date;
  /** null until the message leaves Twilio (`sending` or later), as on Twilio. */
  dateSent: Date | null;
  statusCallback: string | null;
  errorCode: number | null;
  errorMessage: string | null;
};

export type FormParams = Record<string, string | string[]>;

export type RecordedRequest = {
  method: string;
  /** Path without the query string. */
  path: string;
  query: FormParams;
  /** The form body's parameters (create requests). */
  params: FormParams;
  authorized: boolean;
  at: Date;
  /** The HTTP status answered, once answered. */
  responseStatus: number | null;
};

export type FakeFailure = {
  status: number;
  code?: number;
  message?: string;
  /** Sent as the Retry-After header. */
  retryAfter?: string;
  /** Which requests fail: creates (default), list/read requests, or any. */
  on?: 'create' | 'read' | 'any';
};

export type SignatureMode = 'valid' | 'missing' | 'wrong';

export type CallbackOptions = {
  errorCode?: number | string;
  errorMessage?: string;
  /** Post here instead of the StatusCallback given at create time. */
  url?: string;
  /** Post the same callback again this many extra times (true = once). */
  duplicate?: boolean | number;
  /** One callback per segment of the message, as Twilio does for long messages. */
  perSegment?: boolean;
  signature?: SignatureMode;
  /** Sign with this token instead of the fake's. */
  authToken?: string;
  /** Added to (or replacing) the callback's parameters; arrays become repeated keys. */
  extraParams?: FormParams;
};

export type WebhookResponse = { status: number; contentType: string | null; body: string };

export type FakeTwilio = {
  /** The API origin, for TWILIO_API_URL. */
  url: string;
  accountSid: string;
  authToken: string;
  /** Every message, oldest first (live). */
  messages: FakeMessage[];
  /** Every API request, in arrival order (live). */
  requests: RecordedRequest[];
  /** The next `n` matching requests fail with this Twilio-style error; nothing is created. */
  failNext(n: number, failure: FakeFailure): void;
  /** From now on, create requests are carried out at once but answered only at `release()`. */
  holdRequests(): void;
  /** Answers every held request and stops holding. */
  release(): void;
  /** Delays every answer by `ms` (0 = no delay); the work is done on arrival. */
  respondAfter(ms: number): void;
  /** Resolves with the first recorded request (past or future) that matches. */
  waitForRequest(match: (request: RecordedRequest) => boolean): Promise<RecordedRequest>;
  /** Moves a message to `status` (never backwards) without posting a callback. */
  setStatus(sid: string, status: FakeMessageStatus, errorCode?: number): FakeMessage;
  /** Moves the message (never backwards) and posts signed status callbacks; resolves with each response. */
  sendCallback(sid: string, status: FakeMessageStatus, options?: CallbackOptions): Promise<WebhookResponse[]>;
  /** Records an inbound message and posts Twilio's signed inbound webhook to `url`. */
  sendInbound(
    url: string,
    message: { from: string; to: string; body: string },
    options?: { signature?: SignatureMode; authToken?: string; extraParams?: FormParams },
  ): Promise<WebhookResponse>;
  /** Posts the last inbound webhook to `url` again, word for word with its valid signature: a replay. */
  replayInbound(url: string): Promise<WebhookResponse>;
  close(): Promise<void>;
};

export type FakeTwilioOptions = {
  accountSid?: string;
  authToken?: string;
  now?: () => Date;
  /** The largest page a list request gets, whatever PageSize asks (Twilio's is 1000): small values force paging. */
  maxPageSize?: number;
};

const API = '/2010-04-01';
/** The fake's own order, so a resource never shows an older status than one it already reported. */
const PROGRESS: readonly FakeMessageStatus[] = [
  'accepted',
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'canceled',
  'read',
];
const SENT_STATUSES: ReadonlySet<FakeMessageStatus> = new Set([
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'read',
]);

export function randomSid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Twilio's date format: RFC 2822 with a numeric zone, e.g. "Thu, 05 Sep 2019 00:45:02 +0000". */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

// The GSM 03.38 default alphabet, and the extension characters that take two septets.
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENDED = '^{}\\[~]|€\f';

/** Segments as a handset counts them: GSM-7 160 (153 per part), otherwise UCS-2 70 (67 per part). */
export function countSegments(body: string): number {
  let septets = 0;
  let gsm = true;
  for (const char of body) {
    if (GSM_BASIC.includes(char)) septets += 1;
    else if (GSM_EXTENDED.includes(char)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) return septets <= 160 ? 1 : Math.ceil(septets / 153);
  const units = body.length; // UTF-16 code units: an emoji takes two.
  return units <= 70 ? 1 : Math.ceil(units / 67);
}

function parseParams(search: URLSearchParams): FormParams {
  const values = new Map<string, string[]>();
  for (const [name, value] of search) values.set(name, [...(values.get(name) ?? []), value]);
  return Object.fromEntries([...values].map(([name, list]) => [name, list.length === 1 ? list[0]! : list]));
}

function single(params: FormParams, name: string): string | undefined {
  const value = params[name];
  return Array.isArray(value) ? value[0] : value;
}

function toSearchParams(params: FormParams): URLSearchParams {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const each of Array.isArray(value) ? value : [value]) search.append(name, each);
  }
  return search;
}

function twilioError(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

/** YYMMDDhhmm, the carrier receipt format Twilio passes through as RawDlrDoneDate. */
function dlrDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    pad(date.getUTCFullYear() % 100) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes())
  );
}

export async function startFakeTwilio(options: FakeTwilioOptions = {}): Promise<FakeTwilio> {
  const accountSid = options.accountSid ?? randomSid('AC');
  const authToken = options.authToken ?? randomBytes(16).toString('hex');
  const now = options.now ?? (() => new Date());
  const maxPageSize = options.maxPageSize ?? 1000;
  const messages: FakeMessage[] = [];
  const requests: RecordedRequest[] = [];
  const failures: FakeFailure[] = [];
  const held: (() => void)[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const waiters: { match: (request: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }[] =
    [];
  let holding = false;
  let delayMs = 0;
  /** The parameters of the last inbound webhook posted, for `replayInbound`. */
  let lastInbound: FormParams | null = null;

  function messageJson(message: FakeMessage) {
    const uri = `${API}/Accounts/${message.accountSid}/Messages/${message.sid}`;
    return {
      account_sid: message.accountSid,
      api_version: '2010-04-01',
      body: message.body,
      date_created: rfc2822(message.dateCreated),
      date_sent: message.dateSent ? rfc2822(message.dateSent) : null,
      date_updated: rfc2822(message.dateUpdated),
      direction: message.direction,
      error_code: message.errorCode,
      error_message: message.errorMessage,
      from: message.from,
      messaging_service_sid: message.messagingServiceSid,
      num_media: '0',
      // A messaging service answers before counting, like Twilio's "0".
      num_segments: String(message.status === 'accepted' ? 0 : message.numSegments),
      price: null,
      price_unit: 'USD',
      sid: message.sid,
      status: message.status,
      subresource_uris: { media: `${uri}/Media.json` },
      to: message.to,
      uri: `${uri}.json`,
    };
  }

  function create(params: FormParams): { status: number; json: unknown } {
    const to = single(params, 'To');
    const body = single(params, 'Body');
    const from = single(params, 'From') ?? null;
    const messagingServiceSid = single(params, 'MessagingServiceSid') ?? null;
    if (!to) return { status: 400, json: twilioError(400, 21604, "A 'To' phone number is required.") };
    if (!/^\+[1-9]\d{6,14}$/.test(to)) {
      return {
        status: 400,
        json: twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`),
      };
    }
    if (!from && !messagingServiceSid) {
      return { status: 400, json: twilioError(400, 21603, "A 'From' phone number is required.") };
    }
    if (body === undefined || body === '') {
      return { status: 400, json: twilioError(400, 21602, 'Message body is required.') };
    }
    if (body.length > 1600) {
      return {
        status: 400,
        json: twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.'),
      };
    }
    const at = now();
    const message: FakeMessage = {
      sid: randomSid('SM'),
      accountSid,
      direction: 'outbound-api',
      to,
      from: messagingServiceSid ? null : from,
      messagingServiceSid,
      body,
      status: messagingServiceSid ? 'accepted' : 'queued',
      numSegments: countSegments(body),
      dateCreated: at,
      dateUpdated: at,
      dateSent: null,
      statusCallback: single(params, 'StatusCallback') ?? null,
      errorCode: null,
      errorMessage: null,
    };
    messages.push(message);
    return { status: 201, json: messageJson(message) };
  }

  function list(query: FormParams): { status: number; json: unknown } {
    const to = single(query, 'To');
    const from = single(query, 'From');
    const day = (value: string | undefined) => (value ? Date.parse(`${value}T00:00:00Z`) : undefined);
    const onDay = day(single(query, 'DateSent'));
    const after = day(single(query, 'DateSent>'));
    const before = day(single(query, 'DateSent<'));
    const DAY = 86_400_000;
    const selected = messages
      .filter((m) => to === undefined || m.to === to)
      .filter((m) => from === undefined || m.from === from)
      .filter((m) => {
        if (onDay === undefined && after === undefined && before === undefined) return true;
        // Twilio filters on date_sent: a message not sent yet has none and matches no DateSent filter.
        if (m.dateSent === null) return false;
        const sent = m.dateSent.getTime();
        if (onDay !== undefined && (sent < onDay || sent >= onDay + DAY)) return false;
        if (after !== undefined && sent < after) return false;
        if (before !== undefined && sent >= before + DAY) return false;
        return true;
      })
      .sort((a, b) => b.dateCreated.getTime() - a.dateCreated.getTime());
    // Twilio's default page size is 50.
    const pageSize = Math.min(maxPageSize, Math.max(1, Number(single(query, 'PageSize') ?? 50)));
    const page = Math.max(0, Number(single(query, 'Page') ?? 0));
    const start = page * pageSize;
    const slice = selected.slice(start, start + pageSize);
    const base = `${API}/Accounts/${accountSid}/Messages.json`;
    const pageUri = (n: number) => {
      const params = toSearchParams({ ...query, PageSize: String(pageSize), Page: String(n) });
      if (n > 0) params.set('PageToken', `PA${slice[0]?.sid ?? ''}`);
      else params.delete('PageToken');
      return `${base}?${params.toString()}`;
    };
    return {
      status: 200,
      json: {
        messages: slice.map(messageJson),
        start,
        end: start + Math.max(0, slice.length - 1),
        page,
        page_size: pageSize,
        uri: pageUri(page),
        first_page_uri: pageUri(0),
        previous_page_uri: page > 0 ? pageUri(page - 1) : null,
        next_page_uri: start + pageSize < selected.length ? pageUri(page + 1) : null,
      },
    };
  }

  function authorized(request: IncomingMessage): boolean {
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
    return request.headers.authorization === expected;
  }

  function takeFailure(kind: 'create' | 'read'): FakeFailure | undefined {
    const index = failures.findIndex((f) => (f.on ?? 'create') === kind || f.on === 'any');
    return index === -1 ? undefined : failures.splice(index, 1)[0];
  }

  function route(method: string, path: string, query: FormParams, params: FormParams) {
    const messagesPath = `${API}/Accounts/${accountSid}/Messages.json`;
    const onePath = new RegExp(`^${API}/Accounts/${accountSid}/Messages/(\\w+)\\.json$`);
    const isCreate = method === 'POST' && path === messagesPath;
    const isRead = method === 'GET' && (path === messagesPath || onePath.test(path));
    if (!isCreate && !isRead) {
      return { status: 404, json: twilioError(404, 20404, `The requested resource ${path} was not found`) };
    }
    const failure = takeFailure(isCreate ? 'create' : 'read');
    if (failure) {
      const code = failure.code ?? (failure.status === 429 ? 20429 : failure.status >= 500 ? 20500 : 21211);
      return {
        status: failure.status,
        json: twilioError(failure.status, code, failure.message ?? `scripted failure ${code}`),
        ...(failure.retryAfter === undefined ? {} : { retryAfter: failure.retryAfter }),
      };
    }
    if (isCreate) return create(params);
    if (path === messagesPath) return list(query);
    const sid = onePath.exec(path)?.[1];
    const message = messages.find((m) => m.sid === sid);
    return message
      ? { status: 200, json: messageJson(message) }
      : { status: 404, json: twilioError(404, 20404, `The requested resource ${path} was not found`) };
  }

  function record(entry: RecordedRequest): void {
    requests.push(entry);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i]!;
      if (waiter.match(entry)) {
        waiters.splice(i, 1);
        waiter.resolve(entry);
      }
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'http://fake-twilio');
    const isForm = (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const entry: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: parseParams(url.searchParams),
      params: isForm ? parseParams(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) : {},
      authorized: authorized(request),
      at: now(),
      responseStatus: null,
    };
    record(entry);

    // The work happens now, on arrival; only the answer may wait.
    const result: { status: number; json: unknown; retryAfter?: string } = entry.authorized
      ? route(entry.method, entry.path, entry.query, entry.params)
      : {
          status: 401,
          json: {
            ...twilioError(401, 20003, 'Authenticate'),
            detail: 'Your AccountSid or AuthToken was incorrect.',
          },
        };
    const answer = () => {
      entry.responseStatus = result.status;
      if (response.destroyed) return; // the client gave up (timeout, crash)
      response.writeHead(result.status, {
        'content-type': 'application/json; charset=utf-8',
        ...(result.retryAfter === undefined ? {} : { 'retry-after': result.retryAfter }),
      });
      response.end(JSON.stringify(result.json));
    };
    const delayed = () => {
      if (delayMs <= 0) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, delayMs);
      timers.add(timer);
    };
    if (holding && entry.method === 'POST') held.push(delayed);
    else delayed();
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function postSigned(
    url: string,
    params: FormParams,
    signature: SignatureMode,
    token: string,
  ): Promise<WebhookResponse> {
    // A URL fragment (Twilio's connection overrides, e.g. #rc=3) is never sent, so it is not signed here.
    const target = url.split('#')[0]!;
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'user-agent': 'TwilioProxy/1.1',
      'i-twilio-idempotency-token': randomBytes(16).toString('hex'),
    };
    if (signature !== 'missing') {
      const valid = twilioSignature(token, target, params);
      headers['x-twilio-signature'] =
        signature === 'valid' ? valid : twilioSignature(`${token}x`, target, params);
    }
    const response = await fetch(target, { method: 'POST', headers, body: toSearchParams(params) });
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      body: await response.text(),
    };
  }

  function findMessage(sid: string): FakeMessage {
    const message = messages.find((m) => m.sid === sid);
    if (!message) throw new Error(`fake Twilio has no message ${sid}`);
    return message;
  }

  function setStatus(sid: string, status: FakeMessageStatus, errorCode?: number): FakeMessage {
    const message = findMessage(sid);
    if (PROGRESS.indexOf(status) > PROGRESS.indexOf(message.status)) {
      const at = now();
      message.status = status;
      message.dateUpdated = at;
      if (message.dateSent === null && SENT_STATUSES.has(status)) message.dateSent = at;
      if (errorCode !== undefined) message.errorCode = errorCode;
    }
    return message;
  }

  return {
    url: origin,
    accountSid,
    authToken,
    messages,
    requests,
    failNext(n, failure) {
      for (let i = 0; i < n; i++) failures.push(failure);
    },
    holdRequests() {
      holding = true;
    },
    release() {
      holding = false;
      for (const answer of held.splice(0)) answer();
    },
    respondAfter(ms) {
      delayMs = ms;
    },
    waitForRequest(match) {
      const past = requests.find(match);
      if (past) return Promise.resolve(past);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    setStatus,
    async sendCallback(sid, status, callbackOptions = {}) {
      const message = findMessage(sid);
      const errorCode =
        callbackOptions.errorCode === undefined ? undefined : Number(callbackOptions.errorCode);
      setStatus(sid, status, errorCode);
      const url = callbackOptions.url ?? message.statusCallback;
      if (!url) throw new Error(`message ${sid} has no StatusCallback and no url was given`);
      const params: FormParams = {
        AccountSid: message.accountSid,
        ApiVersion: '2010-04-01',
        MessageSid: message.sid,
        MessageStatus: status,
        SmsSid: message.sid,
        SmsStatus: status,
        To: message.to,
        From: message.from ?? '+15005550006',
        ...(message.messagingServiceSid ? { MessagingServiceSid: message.messagingServiceSid } : {}),
        ...(errorCode === undefined ? {} : { ErrorCode: String(errorCode) }),
        ...(callbackOptions.errorMessage === undefined ? {} : { ErrorMessage: callbackOptions.errorMessage }),
        ...(status === 'delivered' || status === 'undelivered' ? { RawDlrDoneDate: dlrDate(now()) } : {}),
        ...callbackOptions.extraParams,
      };
      const extra =
        callbackOptions.duplicate === true ? 1 : callbackOptions.duplicate ? callbackOptions.duplicate : 0;
      const times = (callbackOptions.perSegment ? message.numSegments : 1) + extra;
      const responses: WebhookResponse[] = [];
      for (let i = 0; i < times; i++) {
        responses.push(
          await postSigned(
            url,
            params,
            callbackOptions.signature ?? 'valid',
            callbackOptions.authToken ?? authToken,
          ),
        );
      }
      return responses;
    },
    async sendInbound(url, inbound, inboundOptions = {}) {
      const at = now();
      const message: FakeMessage = {
        sid: randomSid('SM'),
        accountSid,
        direction: 'inbound',
        to: inbound.to,
        from: inbound.from,
        messagingServiceSid: null,
        body: inbound.body,
        status: 'received',
        numSegments: countSegments(inbound.body),
        dateCreated: at,
        dateUpdated: at,
        dateSent: at,
        statusCallback: null,
        errorCode: null,
        errorMessage: null,
      };
      messages.push(message);
      const params: FormParams = {
        ToCountry: 'US',
        SmsMessageSid: message.sid,
        NumMedia: '0',
        SmsSid: message.sid,
        SmsStatus: 'received',
        Body: inbound.body,
        To: inbound.to,
        NumSegments: String(message.numSegments),
        MessageSid: message.sid,
        AccountSid: accountSid,
        From: inbound.from,
        FromCountry: 'US',
        ApiVersion: '2010-04-01',
        ...inboundOptions.extraParams,
      };
      lastInbound = params;
      return postSigned(
        url,
        params,
        inboundOptions.signature ?? 'valid',
        inboundOptions.authToken ?? authToken,
      );
    },
    async replayInbound(url) {
      if (lastInbound === null) throw new Error('no inbound message to replay');
      return postSigned(url, lastInbound, 'valid', authToken);
    },
    async close() {
      holding = false;
      for (const answer of held.splice(0)) answer();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
