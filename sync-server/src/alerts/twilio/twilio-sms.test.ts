import { describe, expect, it } from 'vitest';
import { createTwilioSms, mayHaveBeenSent, parseRetryAfter, type TwilioConfig } from './twilio-sms.ts';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const SID = 'SM0123456789abcdef0123456789abcdef';
const CONFIG: TwilioConfig = {
  accountSid: ACCOUNT,
  authToken: 'secret',
  from: '+15005550006',
  messagingServiceSid: null,
  apiUrl: 'https://api.twilio.test/',
  statusCallbackUrl: 'https://vw.example.org/webhooks/twilio/status',
};

type Call = { url: string; method: string; headers: Headers; form: URLSearchParams | null };

/** A fetch that answers from `answer` and records each request. */
function stubFetch(answer: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetchImpl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = init?.body;
    const call: Call = {
      url: input instanceof Request ? input.url : input.toString(),
      method: init?.method ?? 'GET',
      headers: new Headers(init?.headers),
      form: body instanceof URLSearchParams ? body : null,
    };
    calls.push(call);
    return answer(call);
  };
  return { calls, fetchImpl };
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function twilioMessage(overrides: Record<string, unknown> = {}) {
  return {
    sid: SID,
    account_sid: ACCOUNT,
    to: '+15551230001',
    from: '+15005550006',
    body: 'SOS from Ana',
    status: 'queued',
    num_segments: '1',
    direction: 'outbound-api',
    date_created: 'Thu, 05 Sep 2019 00:45:02 +0000',
    date_sent: null,
    ...overrides,
  };
}

const twilioError = (status: number, code: number, message: string) =>
  json(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

describe('send', () => {
  it('posts To, From, Body and StatusCallback form-encoded with Basic auth to the Messages resource', async () => {
    const { calls, fetchImpl } = stubFetch(() => json(201, twilioMessage()));
    await createTwilioSms(CONFIG, fetchImpl).send('+15551230001', 'SOS from Ana');
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call!.method).toBe('POST');
    expect(call!.url).toBe(`https://api.twilio.test/2010-04-01/Accounts/${ACCOUNT}/Messages.json`);
    expect(call!.headers.get('authorization')).toBe(
      `Basic ${Buffer.from(`${ACCOUNT}:secret`).toString('base64')}`,
    );
    expect(call!.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(call!.form!)).toEqual({
      To: '+15551230001',
      From: '+15005550006',
      Body: 'SOS from Ana',
      StatusCallback: 'https://vw.example.org/webhooks/twilio/status',
    });
  });

  it('uses the messaging service instead of From when one is set, and no StatusCallback when none is', async () => {
    const { calls, fetchImpl } = stubFetch(() =>
      json(201, twilioMessage({ status: 'accepted', num_segments: '0', from: null })),
    );
    const sms = createTwilioSms(
      { ...CONFIG, messagingServiceSid: 'MG0123456789abcdef0123456789abcdef', statusCallbackUrl: null },
      fetchImpl,
    );
    const result = await sms.send('+15551230001', 'SOS');
    expect(Object.fromEntries(calls[0]!.form!)).toEqual({
      To: '+15551230001',
      Body: 'SOS',
      MessagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
    });
    // `accepted` is Twilio's first status with a messaging service; it has not counted segments yet ("0").
    expect(result).toEqual({ outcome: 'accepted', providerMessageId: SID, status: 'queued' });
  });

  it('refuses to be created without a sender', () => {
    expect(() => createTwilioSms({ ...CONFIG, from: null }, fetch)).toThrow(/TWILIO_FROM/);
  });

  it('201 → accepted with the SID, the first status and the segment count', async () => {
    const { fetchImpl } = stubFetch(() => json(201, twilioMessage({ num_segments: '2' })));
    expect(await createTwilioSms(CONFIG, fetchImpl).send('+15551230001', 'x')).toEqual({
      outcome: 'accepted',
      providerMessageId: SID,
      status: 'queued',
      segments: 2,
    });
  });

  it.each([
    [21211, "The 'To' number +1555 is not a valid phone number."],
    [21610, 'Attempt to send to unsubscribed recipient'],
    [21614, "'To' number is not a valid mobile number"],
  ])('400 with code %s → permanent, with the code and message', async (code, message) => {
    const { fetchImpl } = stubFetch(() => twilioError(400, code, message));
    expect(await createTwilioSms(CONFIG, fetchImpl).send('+1555', 'x')).toEqual({
      outcome: 'permanent',
      errorCode: String(code),
      message,
    });
  });

  it('an unknown 4xx code is permanent (the same request would fail again)', async () => {
    const { fetchImpl } = stubFetch(() => twilioError(400, 21999, 'something new'));
    expect(await createTwilioSms(CONFIG, fetchImpl).send('+15551230001', 'x')).toMatchObject({
      outcome: 'permanent',
      errorCode: '21999',
    });
  });

  it('429 → transient, honouring Retry-After', async () => {
    const { fetchImpl } = stubFetch(() =>
      json(429, { code: 20429, message: 'Too Many Requests', status: 429 }, { 'retry-after': '7' }),
    );
    const result = await createTwilioSms(CONFIG, fetchImpl).send('+15551230001', 'x');
    expect(result).toEqual({
      outcome: 'transient',
      errorCode: '20429',
      message: 'Too Many Requests',
      retryAfterMs: 7000,
    });
    expect(mayHaveBeenSent(result)).toBe(false);
  });

  it('5xx, even without a JSON body → transient, and in doubt', async () => {
    const { fetchImpl } = stubFetch(() => new Response('<html>bad gateway</html>', { status: 502 }));
    const result = await createTwilioSms(CONFIG, fetchImpl).send('+15551230001', 'x');
    expect(result).toEqual({
      outcome: 'transient',
      errorCode: 'http_502',
      message: 'Twilio answered HTTP 502',
    });
    expect(mayHaveBeenSent(result)).toBe(true);
  });

  it('refused credentials → transient (fixable by the operator) and certainly not sent', async () => {
    const { fetchImpl } = stubFetch(() => twilioError(401, 20003, 'Authenticate'));
    const result = await createTwilioSms(CONFIG, fetchImpl).send('+15551230001', 'x');
    expect(result).toMatchObject({ outcome: 'transient', errorCode: '20003' });
    expect(result.outcome === 'transient' && result.message).toMatch(/TWILIO_AUTH_TOKEN/);
    expect(mayHaveBeenSent(result)).toBe(false);
  });

  it('a network error → transient "network", in doubt', async () => {
    const { fetchImpl } = stubFetch(() => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    });
    const result = await createTwilioSms(CONFIG, fetchImpl).send('+15551230001', 'x');
    expect(result).toMatchObject({ outcome: 'transient', errorCode: 'network' });
    expect(result.outcome === 'transient' && result.message).toMatch(/ECONNREFUSED/);
    expect(mayHaveBeenSent(result)).toBe(true);
  });

  it('no answer within the timeout → transient "timeout", in doubt', async () => {
    // Like fetch: the request stays in flight until its signal fires.
    const fetchImpl = ((_url: string, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        const signal = init?.signal;
        signal?.addEventListener('abort', () => reject(signal.reason as Error));
      })) as typeof fetch;
    const result = await createTwilioSms(CONFIG, fetchImpl, { timeoutMs: 1 }).send('+15551230001', 'x');
    expect(result).toMatchObject({ outcome: 'transient', errorCode: 'timeout' });
    expect(mayHaveBeenSent(result)).toBe(true);
  });

  it('a 201 whose body cannot be read → transient "bad_response", in doubt', async () => {
    const { fetchImpl } = stubFetch(() => new Response('{"sid":', { status: 201 }));
    const result = await createTwilioSms(CONFIG, fetchImpl).send('+15551230001', 'x');
    expect(result).toMatchObject({ outcome: 'transient', errorCode: 'bad_response' });
    expect(mayHaveBeenSent(result)).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2025-01-01T00:00:00Z');
  it('reads seconds and HTTP dates; ignores absent or garbled values', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('findSent', () => {
  const since = new Date('2025-01-31T23:59:30Z');

  it('asks for sent messages to the number from the day of `since` minus a minute, then finds the exact body', async () => {
    const { calls, fetchImpl } = stubFetch(() =>
      json(200, {
        messages: [
          twilioMessage({
            sid: 'SMother',
            body: 'SOS from Ana!',
            date_created: 'Sat, 01 Feb 2025 00:00:01 +0000',
          }),
          twilioMessage({ status: 'delivered', date_created: 'Sat, 01 Feb 2025 00:00:02 +0000' }),
        ],
        next_page_uri: null,
      }),
    );
    const found = await createTwilioSms(CONFIG, fetchImpl).findSent('+15551230001', 'SOS from Ana', since);
    expect(found).toEqual({ providerMessageId: SID, status: 'delivered', segments: 1 });
    const url = new URL(calls[0]!.url);
    expect(url.pathname).toBe(`/2010-04-01/Accounts/${ACCOUNT}/Messages.json`);
    // `DateSent>=2025-01-31`: the filter's name is `DateSent>`.
    expect(url.search).toContain('DateSent%3E=2025-01-31');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      To: '+15551230001',
      'DateSent>': '2025-01-31',
    });
    expect(calls[0]!.headers.get('authorization')).toMatch(/^Basic /);
  });

  it('follows next_page_uri, and ignores matches created more than a minute before `since`', async () => {
    const { calls, fetchImpl } = stubFetch((call) => {
      const page = new URL(call.url).searchParams.get('Page');
      if (page === null) {
        return json(200, {
          messages: [twilioMessage({ sid: 'SMold', date_created: 'Fri, 31 Jan 2025 23:58:00 +0000' })],
          next_page_uri: `/2010-04-01/Accounts/${ACCOUNT}/Messages.json?To=%2B15551230001&Page=1&PageToken=PA1`,
        });
      }
      return json(200, {
        messages: [twilioMessage({ date_created: 'Fri, 31 Jan 2025 23:58:40 +0000' })],
        next_page_uri: null,
      });
    });
    const found = await createTwilioSms(CONFIG, fetchImpl).findSent('+15551230001', 'SOS from Ana', since);
    expect(found?.providerMessageId).toBe(SID);
    expect(calls.map((c) => new URL(c.url).searchParams.get('Page'))).toEqual([null, '1']);
    expect(calls[1]!.url.startsWith('https://api.twilio.test/2010-04-01/')).toBe(true);
  });

  it('then looks at the newest messages without the date filter, which hides messages not sent yet', async () => {
    const { calls, fetchImpl } = stubFetch((call) => {
      const dated = new URL(call.url).searchParams.has('DateSent>');
      return json(200, {
        messages: dated ? [] : [twilioMessage({ status: 'accepted', num_segments: '0' })],
        next_page_uri: null,
      });
    });
    const found = await createTwilioSms(CONFIG, fetchImpl).findSent(
      '+15551230001',
      'SOS from Ana',
      new Date('2019-09-05T00:45:00Z'),
    );
    expect(found).toEqual({ providerMessageId: SID, status: 'queued' });
    expect(calls).toHaveLength(2);
  });

  it('returns null when nothing matches, reading no more than the page limit', async () => {
    const { calls, fetchImpl } = stubFetch(() =>
      json(200, {
        messages: [twilioMessage({ body: 'another', date_created: new Date().toUTCString() })],
        next_page_uri: `/2010-04-01/Accounts/${ACCOUNT}/Messages.json?Page=1`,
      }),
    );
    const sms = createTwilioSms(CONFIG, fetchImpl, { maxPages: 3 });
    expect(await sms.findSent('+15551230001', 'SOS', new Date(Date.now() - 1000))).toBeNull();
    expect(calls).toHaveLength(6);
  });

  it('throws when Twilio cannot answer, so the caller keeps the send "in doubt"', async () => {
    const { fetchImpl } = stubFetch(() => twilioError(503, 20503, 'Service unavailable'));
    await expect(createTwilioSms(CONFIG, fetchImpl).findSent('+15551230001', 'x', since)).rejects.toThrow(
      /503/,
    );
    const garbled = stubFetch(() => json(200, { nope: true }));
    await expect(createTwilioSms(CONFIG, garbled.fetchImpl).findSent('+1', 'x', since)).rejects.toThrow(
      /JSON/,
    );
  });
});

describe('fetchMessage', () => {
  it("reads one message's status, null when Twilio has none", async () => {
    const { calls, fetchImpl } = stubFetch((call) =>
      call.url.endsWith(`${SID}.json`)
        ? json(200, twilioMessage({ status: 'undelivered' }))
        : twilioError(404, 20404, 'not found'),
    );
    const sms = createTwilioSms(CONFIG, fetchImpl);
    expect(await sms.fetchMessage(SID)).toMatchObject({ providerMessageId: SID, status: 'undelivered' });
    expect(await sms.fetchMessage('SMnope')).toBeNull();
    expect(calls[0]!.url).toBe(`https://api.twilio.test/2010-04-01/Accounts/${ACCOUNT}/Messages/${SID}.json`);
  });
});
