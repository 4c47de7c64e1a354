import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installErrorHandler } from '../../http/http-error.ts';
import { twilioSignature } from './twilio-signature.ts';
import type { ParsedStatus } from './twilio-status.ts';
import {
  INBOUND_PATH,
  parseForm,
  registerTwilioWebhooks,
  STATUS_PATH,
  twimlReply,
  type InboundMessage,
} from './twilio-webhooks.ts';

const TOKEN = 'test-auth-token';
const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const SID = 'SM0123456789abcdef0123456789abcdef';
const PUBLIC_URL = 'https://vw.example.org';

type Form = Record<string, string | string[]>;

let app: FastifyInstance;
afterEach(() => app?.close());

async function build(
  handlers: {
    onStatus?: (status: ParsedStatus) => Promise<void>;
    onInbound?: (message: InboundMessage) => Promise<string | null>;
  } = {},
) {
  const statuses: ParsedStatus[] = [];
  const inbound: InboundMessage[] = [];
  app = Fastify();
  installErrorHandler(app);
  // A JSON route beside the webhooks: their form parser must not leak into the rest of the app.
  app.post('/json', async (request) => ({ got: request.body }));
  await registerTwilioWebhooks(app, {
    authToken: TOKEN,
    publicUrl: `${PUBLIC_URL}/`,
    accountSid: ACCOUNT,
    onStatus:
      handlers.onStatus ??
      (async (status) => {
        statuses.push(status);
      }),
    onInbound:
      handlers.onInbound ??
      (async (message) => {
        inbound.push(message);
        return null;
      }),
  });
  return { statuses, inbound };
}

function encode(form: Form): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) {
    for (const each of Array.isArray(value) ? value : [value]) search.append(name, each);
  }
  return search.toString();
}

function post(
  path: string,
  form: Form,
  signature: string | null = twilioSignature(TOKEN, PUBLIC_URL + path, form),
) {
  return app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === null ? {} : { 'x-twilio-signature': signature }),
    },
    payload: encode(form),
  });
}

const status = (overrides: Form = {}): Form => ({
  AccountSid: ACCOUNT,
  ApiVersion: '2010-04-01',
  MessageSid: SID,
  MessageStatus: 'sent',
  SmsSid: SID,
  SmsStatus: 'sent',
  To: '+15551230001',
  From: '+15005550006',
  ...overrides,
});

const inboundSms = (overrides: Form = {}): Form => ({
  AccountSid: ACCOUNT,
  MessageSid: 'SMfedcba9876543210fedcba9876543210',
  SmsSid: 'SMfedcba9876543210fedcba9876543210',
  From: '+15551230001',
  To: '+15005550006',
  Body: 'OK 4821',
  NumMedia: '0',
  ...overrides,
});

describe('POST /webhooks/twilio/status', () => {
  it('applies a correctly signed callback and answers 204', async () => {
    const { statuses } = await build();
    const response = await post(STATUS_PATH, status({ MessageStatus: 'undelivered', ErrorCode: '30003' }));
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect(statuses).toEqual([
      expect.objectContaining({ sid: SID, status: 'undelivered', errorCode: '30003', accountSid: ACCOUNT }),
    ]);
  });

  it('403 bad_signature for a missing, wrong or other-token signature; the handler never runs', async () => {
    const { statuses } = await build();
    const form = status();
    for (const signature of [null, 'AAAA', twilioSignature('other-token', PUBLIC_URL + STATUS_PATH, form)]) {
      const response = await post(STATUS_PATH, form, signature);
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ error_code: 'bad_signature' });
    }
    expect((await post(STATUS_PATH, form, null)).json().message).toMatch(/missing/);
    expect(statuses).toEqual([]);
  });

  it('403 when a signed parameter was changed in transit', async () => {
    const { statuses } = await build();
    const signature = twilioSignature(TOKEN, PUBLIC_URL + STATUS_PATH, status());
    const response = await post(STATUS_PATH, status({ MessageStatus: 'delivered' }), signature);
    expect(response.statusCode).toBe(403);
    expect(statuses).toEqual([]);
  });

  it('signs over PUBLIC_URL + path + query string', async () => {
    const { statuses } = await build();
    const path = `${STATUS_PATH}?alert=a1`;
    const form = status();
    expect((await post(path, form, twilioSignature(TOKEN, PUBLIC_URL + STATUS_PATH, form))).statusCode).toBe(
      403,
    );
    expect((await post(path, form)).statusCode).toBe(204);
    expect(statuses).toHaveLength(1);
  });

  it('covers repeated parameters in the signature', async () => {
    const { statuses } = await build();
    expect((await post(STATUS_PATH, status({ Tag: ['b', 'a'] }))).statusCode).toBe(204);
    expect(statuses).toHaveLength(1);
  });

  it('403 wrong_account for a validly signed callback of another account', async () => {
    const { statuses } = await build();
    const response = await post(STATUS_PATH, status({ AccountSid: 'AC' + 'f'.repeat(32) }));
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error_code: 'wrong_account' });
    expect(statuses).toEqual([]);
  });

  it('400 naming the field for a signed but malformed callback', async () => {
    const { statuses } = await build();
    const unknown = await post(STATUS_PATH, status({ MessageStatus: 'teleported', SmsStatus: 'teleported' }));
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ error_code: 'validation_failed' });
    expect(unknown.json().message).toMatch(/body\.MessageStatus/);
    const noSid = status();
    delete noSid.MessageSid;
    delete noSid.SmsSid;
    expect((await post(STATUS_PATH, noSid)).json().message).toMatch(/body\.MessageSid: is required/);
    expect(statuses).toEqual([]);
  });

  it('500 when onStatus fails, so Twilio sees the callback was not applied', async () => {
    await build({
      onStatus: async () => {
        throw new Error('database down');
      },
    });
    const response = await post(STATUS_PATH, status());
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error_code: 'internal', message: 'internal server error' });
  });

  it('415 for another content type, 413 over 16 KB; the rest of the app keeps its JSON parser', async () => {
    const { statuses } = await build();
    const json = await app.inject({ method: 'POST', url: STATUS_PATH, payload: { MessageSid: SID } });
    expect(json.statusCode).toBe(415);
    expect(json.json().message).toMatch(/x-www-form-urlencoded/);
    const huge = await post(STATUS_PATH, status({ Padding: 'x'.repeat(17 * 1024) }));
    expect(huge.statusCode).toBe(413);
    expect(statuses).toEqual([]);
    const elsewhere = await app.inject({ method: 'POST', url: '/json', payload: { a: 1 } });
    expect(elsewhere.json()).toEqual({ got: { a: 1 } });
  });
});

describe('POST /webhooks/twilio/inbound', () => {
  it('hands the message to onInbound and answers its reply as TwiML, XML-escaped', async () => {
    const seen: InboundMessage[] = [];
    const { inbound } = await build({
      onInbound: async (message) => {
        seen.push(message);
        return 'Thanks <Ana> & "co" — ack\'d';
      },
    });
    const response = await post(INBOUND_PATH, inboundSms());
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(response.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks &#60;Ana&#62; &#38; &#34;co&#34; — ack&#39;d</Message></Response>',
    );
    expect(seen).toEqual([
      {
        from: '+15551230001',
        to: '+15005550006',
        body: 'OK 4821',
        sid: 'SMfedcba9876543210fedcba9876543210',
      },
    ]);
    expect(inbound).toEqual([]);
  });

  it('answers an empty <Response/> when there is nothing to reply', async () => {
    const { inbound } = await build();
    const response = await post(INBOUND_PATH, inboundSms({ Body: '' }));
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(inbound).toMatchObject([{ body: '' }]);
  });

  it('403 unsigned, 403 another account, 400 naming a missing field; onInbound never runs', async () => {
    const { inbound } = await build();
    expect((await post(INBOUND_PATH, inboundSms(), null)).statusCode).toBe(403);
    // A signature for the status path is not one for the inbound path.
    const form = inboundSms();
    expect(
      (await post(INBOUND_PATH, form, twilioSignature(TOKEN, PUBLIC_URL + STATUS_PATH, form))).statusCode,
    ).toBe(403);
    expect((await post(INBOUND_PATH, inboundSms({ AccountSid: 'ACnope' }))).statusCode).toBe(403);
    const noFrom = inboundSms();
    delete noFrom.From;
    const response = await post(INBOUND_PATH, noFrom);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/body\.From/);
    expect(inbound).toEqual([]);
  });
});

describe('parseForm and twimlReply', () => {
  it('keeps repeated names as arrays, decodes + as space, and treats __proto__ as a plain name', () => {
    const form = parseForm('a=1&b=x+y&a=2&__proto__=p&c=%E2%9C%93');
    expect(form).toEqual({ a: ['1', '2'], b: 'x y', ['__proto__']: 'p', c: '✓' });
    expect(Object.getPrototypeOf(form)).toBe(Object.prototype);
  });

  it('escapes markup in a reply', () => {
    expect(twimlReply('<Redirect>x</Redirect>')).toContain(
      '<Message>&#60;Redirect&#62;x&#60;/Redirect&#62;</Message>',
    );
  });
});
