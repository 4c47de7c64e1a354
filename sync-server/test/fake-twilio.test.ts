/**
 * The channel against the fake over real HTTP: createTwilioSms through TWILIO_API_URL, and the fake's signed
 * callbacks into registerTwilioWebhooks on a listening Fastify app whose handlers keep a small ledger the way the
 * dispatcher will (a status is applied only when isLaterStatus says so).
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertStatus } from '@vitalwatch/schema/protocol/alert-status';
import { installErrorHandler } from '../src/http/http-error.ts';
import {
  createTwilioSms,
  mayHaveBeenSent,
  type TwilioConfig,
  type TwilioSms,
} from '../src/alerts/twilio/twilio-sms.ts';
import { classifyTwilioError, isLaterStatus, type ParsedStatus } from '../src/alerts/twilio/twilio-status.ts';
import {
  INBOUND_PATH,
  registerTwilioWebhooks,
  STATUS_PATH,
  type InboundMessage,
} from '../src/alerts/twilio/twilio-webhooks.ts';
import { countSegments, rfc2822, startFakeTwilio, type FakeTwilio } from './fake-twilio.ts';

const TO = '+15551230001';
const FROM = '+15005550006';

let twilio: FakeTwilio;
let app: FastifyInstance | null = null;

beforeEach(async () => {
  twilio = await startFakeTwilio();
});
afterEach(async () => {
  await app?.close();
  app = null;
  await twilio.close();
});

function config(overrides: Partial<TwilioConfig> = {}): TwilioConfig {
  return {
    accountSid: twilio.accountSid,
    authToken: twilio.authToken,
    from: FROM,
    messagingServiceSid: null,
    apiUrl: twilio.url,
    statusCallbackUrl: null,
    ...overrides,
  };
}

function accepted(result: Awaited<ReturnType<TwilioSms['send']>>): string {
  if (result.outcome !== 'accepted') throw new Error(`expected accepted, got ${JSON.stringify(result)}`);
  return result.providerMessageId;
}

/** A listening app with the webhooks; its handlers keep a ledger like the dispatcher's. */
async function startApp(reply: (message: InboundMessage) => string | null = () => null) {
  const ledger = new Map<string, { status: AlertStatus; errorCode: string | null }>();
  const callbacks: ParsedStatus[] = [];
  const inbound: InboundMessage[] = [];
  const server = Fastify();
  app = server;
  installErrorHandler(server);
  let publicUrl = '';
  await registerTwilioWebhooks(server, {
    authToken: twilio.authToken,
    accountSid: twilio.accountSid,
    get publicUrl() {
      return publicUrl;
    },
    onStatus: async (callback) => {
      callbacks.push(callback);
      const current = ledger.get(callback.sid)?.status ?? 'pending';
      if (isLaterStatus(current, callback.status)) {
        ledger.set(callback.sid, { status: callback.status, errorCode: callback.errorCode });
      }
    },
    onInbound: async (message) => {
      inbound.push(message);
      return reply(message);
    },
  });
  await server.listen({ port: 0, host: '127.0.0.1' });
  publicUrl = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  return { url: publicUrl, ledger, callbacks, inbound };
}

describe('the Messages API', () => {
  it('creates a message like Twilio: SM + 32 hex, queued, segments, RFC 2822 dates, the request recorded', async () => {
    const sms = createTwilioSms(config({ statusCallbackUrl: 'http://127.0.0.1:9/cb' }), fetch);
    const result = await sms.send(TO, 'SOS from Ana: call me');
    expect(result).toMatchObject({ outcome: 'accepted', status: 'queued', segments: 1 });
    const sid = accepted(result);
    expect(sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(twilio.messages).toMatchObject([
      { sid, to: TO, from: FROM, status: 'queued', statusCallback: 'http://127.0.0.1:9/cb', dateSent: null },
    ]);
    expect(twilio.requests).toMatchObject([
      {
        method: 'POST',
        path: `/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`,
        authorized: true,
        responseStatus: 201,
        params: {
          To: TO,
          From: FROM,
          Body: 'SOS from Ana: call me',
          StatusCallback: 'http://127.0.0.1:9/cb',
        },
      },
    ]);

    const raw = await fetch(`${twilio.url}/2010-04-01/Accounts/${twilio.accountSid}/Messages/${sid}.json`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64')}`,
      },
    });
    const json = (await raw.json()) as Record<string, unknown>;
    expect(json).toMatchObject({
      sid,
      status: 'queued',
      num_segments: '1',
      date_sent: null,
      direction: 'outbound-api',
    });
    expect(json.date_created).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(json.uri).toBe(`/2010-04-01/Accounts/${twilio.accountSid}/Messages/${sid}.json`);
    expect(await sms.fetchMessage(sid)).toEqual({ providerMessageId: sid, status: 'queued', segments: 1 });
  });

  it('answers `accepted` with num_segments "0" for a messaging service', async () => {
    const sms = createTwilioSms(config({ from: null, messagingServiceSid: 'MG' + '0'.repeat(32) }), fetch);
    expect(await sms.send(TO, 'SOS')).toMatchObject({ outcome: 'accepted', status: 'queued' });
    expect(twilio.messages[0]).toMatchObject({ status: 'accepted', from: null });
    expect('segments' in (await sms.send(TO, 'SOS'))).toBe(false);
  });

  it("refuses wrong credentials with Twilio's 401 (code 20003) and creates nothing", async () => {
    const result = await createTwilioSms(config({ authToken: 'wrong' }), fetch).send(TO, 'SOS');
    expect(result).toMatchObject({ outcome: 'transient', errorCode: '20003' });
    expect(mayHaveBeenSent(result)).toBe(false);
    expect(twilio.messages).toEqual([]);
    expect(twilio.requests).toMatchObject([{ authorized: false, responseStatus: 401 }]);
  });

  it('classifies: 503 and 429 transient (Retry-After honoured), 400 21211 permanent; nothing created', async () => {
    const sms = createTwilioSms(config(), fetch);
    twilio.failNext(1, { status: 503 });
    twilio.failNext(1, { status: 429, retryAfter: '2' });
    twilio.failNext(1, { status: 400, code: 21211, message: "The 'To' number is not a valid phone number." });
    const unavailable = await sms.send(TO, 'SOS');
    expect(unavailable).toMatchObject({ outcome: 'transient', errorCode: '20500' });
    expect(mayHaveBeenSent(unavailable)).toBe(true);
    expect(await sms.send(TO, 'SOS')).toMatchObject({
      outcome: 'transient',
      errorCode: '20429',
      retryAfterMs: 2000,
    });
    expect(await sms.send(TO, 'SOS')).toEqual({
      outcome: 'permanent',
      errorCode: '21211',
      message: "The 'To' number is not a valid phone number.",
    });
    expect(twilio.messages).toEqual([]);
    // The script is used up: the next send goes through.
    expect(await sms.send(TO, 'SOS')).toMatchObject({ outcome: 'accepted' });
  });

  it('rejects an invalid number itself with 21211, permanent', async () => {
    const result = await createTwilioSms(config(), fetch).send('555-0100', 'SOS');
    expect(result).toMatchObject({ outcome: 'permanent', errorCode: '21211' });
  });

  it('a timeout is transient and in doubt; the message exists and findSent finds it', async () => {
    // Long enough for the request to reach the fake on a loaded machine; the answer comes later still.
    const sms = createTwilioSms(config(), fetch, { timeoutMs: 1_000 });
    twilio.respondAfter(5_000);
    const since = new Date();
    const result = await sms.send(TO, 'SOS timeout');
    expect(result).toMatchObject({ outcome: 'transient', errorCode: 'timeout' });
    expect(mayHaveBeenSent(result)).toBe(true);
    expect(twilio.messages).toHaveLength(1);
    twilio.respondAfter(0);
    expect(await sms.findSent(TO, 'SOS timeout', since)).toEqual({
      providerMessageId: twilio.messages[0]!.sid,
      status: 'queued',
      segments: 1,
    });
  });

  it('a create held between arrival and answer (a crash before we record it) is found by findSent', async () => {
    const sms = createTwilioSms(config(), fetch);
    const since = new Date();
    twilio.holdRequests();
    const pending = sms.send(TO, 'SOS held');
    await twilio.waitForRequest((request) => request.method === 'POST');
    expect(twilio.requests[0]!.responseStatus).toBeNull();

    const found = await sms.findSent(TO, 'SOS held', since);
    expect(found).toEqual({ providerMessageId: twilio.messages[0]!.sid, status: 'queued', segments: 1 });
    expect(await sms.findSent(TO, 'SOS other', since)).toBeNull();
    expect(await sms.findSent('+15551239999', 'SOS held', since)).toBeNull();

    twilio.release();
    expect(accepted(await pending)).toBe(found?.providerMessageId);
  });

  it('findSent pages through sent messages (DateSent filter) and skips ones older than `since` - 1 min', async () => {
    let clock = new Date('2025-03-01T12:00:00Z');
    await twilio.close();
    twilio = await startFakeTwilio({ now: () => clock, maxPageSize: 2 });
    const sms = createTwilioSms(config(), fetch, { maxPages: 10 });
    const old = accepted(await sms.send(TO, 'SOS same text'));
    twilio.setStatus(old, 'delivered');
    clock = new Date('2025-03-01T12:10:00Z');
    const since = clock;
    const wanted = accepted(await sms.send(TO, 'SOS same text'));
    twilio.setStatus(wanted, 'sent');
    for (let i = 0; i < 5; i++) {
      clock = new Date(clock.getTime() + 1000);
      twilio.setStatus(accepted(await sms.send(TO, `later ${i}`)), 'sent');
    }
    twilio.requests.length = 0;
    expect(await sms.findSent(TO, 'SOS same text', since)).toEqual({
      providerMessageId: wanted,
      status: 'sent',
      segments: 1,
    });
    const lists = twilio.requests.filter((r) => r.method === 'GET');
    expect(lists[0]!.query).toMatchObject({ To: TO, 'DateSent>': '2025-03-01' });
    expect(lists).toHaveLength(4); // 7 sent messages at 2 a page, all read: the earliest match wins
    expect(await sms.findSent(TO, 'SOS same text', new Date('2025-03-01T12:20:00Z'))).toBeNull();
  });

  it('findSent throws when the list fails, so the caller keeps the send in doubt', async () => {
    const sms = createTwilioSms(config(), fetch);
    twilio.failNext(1, { status: 500, on: 'read' });
    await expect(sms.findSent(TO, 'SOS', new Date())).rejects.toThrow(/HTTP 500/);
  });

  it('counts segments as a handset does: GSM-7 160/153, UCS-2 70/67', () => {
    expect(countSegments('a'.repeat(160))).toBe(1);
    expect(countSegments('a'.repeat(161))).toBe(2);
    expect(countSegments('a'.repeat(306))).toBe(2);
    expect(countSegments('a'.repeat(307))).toBe(3);
    expect(countSegments('€'.repeat(80))).toBe(1); // two septets each
    expect(countSegments('€'.repeat(81))).toBe(2);
    expect(countSegments('I’m safe')).toBe(1); // a curly quote: UCS-2, still one part
    expect(countSegments('’'.repeat(71))).toBe(2);
    expect(countSegments('🆘'.repeat(35))).toBe(1); // 70 UTF-16 units
    expect(countSegments('🆘'.repeat(36))).toBe(2);
    expect(rfc2822(new Date('2019-09-05T00:45:02Z'))).toBe('Thu, 05 Sep 2019 00:45:02 +0000');
  });
});

describe('status callbacks and inbound messages into the webhooks', () => {
  it('applies a signed callback; the ledger follows isLaterStatus through out-of-order and duplicate callbacks', async () => {
    const server = await startApp();
    const sms = createTwilioSms(config({ statusCallbackUrl: server.url + STATUS_PATH }), fetch);
    const sid = accepted(await sms.send(TO, 'SOS'));
    server.ledger.set(sid, { status: 'queued', errorCode: null }); // the first status, from the API response

    expect(await twilio.sendCallback(sid, 'delivered')).toEqual([
      { status: 204, contentType: null, body: '' },
    ]);
    expect(await twilio.sendCallback(sid, 'sent', { duplicate: true })).toHaveLength(2); // late and twice
    await twilio.sendCallback(sid, 'delivered', { duplicate: 2 });
    expect(server.callbacks.map((c) => c.status)).toEqual([
      'delivered',
      'sent',
      'sent',
      'delivered',
      'delivered',
      'delivered',
    ]);
    expect(server.ledger.get(sid)).toEqual({ status: 'delivered', errorCode: null });
    expect(server.callbacks[0]).toMatchObject({ sid, accountSid: twilio.accountSid, to: TO, from: FROM });
    expect(server.callbacks[0]!.rawDlrDoneDate).toMatch(/^\d{10}$/);
    // The resource itself never moves backwards either.
    expect(twilio.messages[0]!.status).toBe('delivered');
  });

  it('posts one callback per segment, and a failure carries its error code', async () => {
    const server = await startApp();
    const sms = createTwilioSms(config({ statusCallbackUrl: server.url + STATUS_PATH }), fetch);
    const sid = accepted(await sms.send(TO, 'x'.repeat(400))); // 3 GSM-7 segments
    expect(twilio.messages[0]!.numSegments).toBe(3);
    expect(await twilio.sendCallback(sid, 'sent', { perSegment: true })).toHaveLength(3);
    await twilio.sendCallback(sid, 'undelivered', {
      errorCode: 30006,
      errorMessage: 'Landline or unreachable carrier',
    });
    expect(server.ledger.get(sid)).toEqual({ status: 'undelivered', errorCode: '30006' });
    expect(classifyTwilioError(server.ledger.get(sid)!.errorCode)).toBe('never-retry');
    expect(server.callbacks.at(-1)).toMatchObject({ errorMessage: 'Landline or unreachable carrier' });
  });

  it('unsigned, wrongly signed or other-token callbacks get 403 and never reach the handler', async () => {
    const server = await startApp();
    const sms = createTwilioSms(config({ statusCallbackUrl: server.url + STATUS_PATH }), fetch);
    const sid = accepted(await sms.send(TO, 'SOS'));
    for (const options of [
      { signature: 'missing' },
      { signature: 'wrong' },
      { authToken: 'not-the-token' },
    ] as const) {
      const [response] = await twilio.sendCallback(sid, 'delivered', options);
      expect(response!.status).toBe(403);
      expect(JSON.parse(response!.body)).toMatchObject({ error_code: 'bad_signature' });
    }
    expect(server.callbacks).toEqual([]);
  });

  it('a callback URL with connection overrides (#rc=…) is posted and signed without its fragment', async () => {
    const server = await startApp();
    const sms = createTwilioSms(
      config({ statusCallbackUrl: `${server.url}${STATUS_PATH}#rc=3&rp=all` }),
      fetch,
    );
    const sid = accepted(await sms.send(TO, 'SOS'));
    expect((await twilio.sendCallback(sid, 'sent'))[0]!.status).toBe(204);
    expect(server.ledger.get(sid)?.status).toBe('sent');
  });

  it('an override URL receives the callback instead of the one given at create time', async () => {
    const server = await startApp();
    const sms = createTwilioSms(config({ statusCallbackUrl: 'http://127.0.0.1:9/nowhere' }), fetch);
    const sid = accepted(await sms.send(TO, 'SOS'));
    await twilio.sendCallback(sid, 'failed', { url: server.url + STATUS_PATH, errorCode: '30008' });
    expect(server.ledger.get(sid)).toEqual({ status: 'failed', errorCode: '30008' });
  });

  it('an inbound SMS reaches onInbound and its reply comes back as TwiML; unsigned ones get 403', async () => {
    const server = await startApp((message) =>
      message.body.startsWith('OK') ? 'Thanks — Ana knows you saw it' : null,
    );
    const response = await twilio.sendInbound(server.url + INBOUND_PATH, {
      from: TO,
      to: FROM,
      body: 'OK 4821',
    });
    expect(response.status).toBe(200);
    expect(response.contentType).toBe('text/xml; charset=utf-8');
    expect(response.body).toContain('<Response><Message>Thanks — Ana knows you saw it</Message></Response>');
    expect(server.inbound).toEqual([{ from: TO, to: FROM, body: 'OK 4821', sid: twilio.messages[0]!.sid }]);

    const quiet = await twilio.sendInbound(server.url + INBOUND_PATH, { from: TO, to: FROM, body: 'hello' });
    expect(quiet.body).toContain('<Response/>');
    const unsigned = await twilio.sendInbound(
      server.url + INBOUND_PATH,
      { from: TO, to: FROM, body: 'OK 4821' },
      { signature: 'wrong' },
    );
    expect(unsigned.status).toBe(403);
    expect(server.inbound).toHaveLength(2);
  });
});
