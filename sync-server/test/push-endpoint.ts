/**
 * A push service on a loopback port that behaves like FCM/Mozilla/Apple toward an application server (RFC 8030,
 * 8291, 8292), so the sender is tested against the real wire format with no mocks:
 *
 * - `subscribe({ applicationServerKey })` does what a browser's pushManager.subscribe() does: a fresh P-256 key
 *   pair and 16-byte auth secret, an endpoint bound to that VAPID key; it returns `PushSubscription.toJSON()`.
 * - Every POST to an endpoint is checked like a push service does: `Authorization: vapid t=<JWT>, k=<key>` with
 *   an ES256 JWT signed by `k`, `aud` = the endpoint's origin, `exp` in the future and at most 24 h away, a
 *   `mailto:`/`https:` `sub`, and `k` equal to the key the subscription was made with (else 401/403); `TTL`
 *   present (else 400); `Content-Encoding: aes128gcm` (else 415); at most 4096 bytes (else 413).
 * - The body is DECRYPTED with the subscription's private key and auth secret (RFC 8291, implemented here with
 *   node:crypto, independently of the http_ece code web-push encrypts with) and recorded with its headers.
 * - `answer(endpoint, status)` makes an endpoint answer 404/410/429/500… instead; `unsubscribe(endpoint)` makes it
 *   410 Gone, as a push service does after the user revoked the permission.
 */
import { createECDH, createDecipheriv, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify } from 'jose';

export type BrowserSubscription = {
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
};

export type ReceivedPush = {
  endpoint: string;
  headers: { ttl: string | null; urgency: string | null; topic: string | null };
  /** The decrypted body, parsed as JSON (the raw text if it is not JSON). */
  payload: unknown;
  /** The decrypted body as sent. */
  text: string;
  /** The VAPID JWT's `sub`. */
  subject: string;
};

export type RefusedPush = { endpoint: string; status: number; reason: string };

export type TestPushService = {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  subscribe(options: { applicationServerKey: string }): BrowserSubscription;
  /** From now on the endpoint answers `status` (with `Retry-After` if given); `null` returns to normal. */
  answer(endpoint: string, status: number | null, options?: { retryAfter?: string }): void;
  /** The subscription is gone (permission revoked): 410 from now on. */
  unsubscribe(endpoint: string): void;
  /** Messages accepted (201), in arrival order. */
  readonly received: ReceivedPush[];
  /** Requests the service refused because they broke the protocol (bad VAPID, no TTL…), in arrival order. */
  readonly refused: RefusedPush[];
  /** Requests answered with a status set by `answer()`/`unsubscribe()`, in arrival order. */
  readonly answered: { endpoint: string; status: number }[];
  close(): Promise<void>;
};

type Subscription = {
  uaKeys: ReturnType<typeof createECDH>;
  uaPublic: Buffer;
  authSecret: Buffer;
  applicationServerKey: string;
  gone: boolean;
  status: { code: number; retryAfter?: string } | null;
};

class Refusal extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** A status the test told an endpoint to answer with. */
class Answer extends Error {
  constructor(
    readonly status: number,
    readonly retryAfter: string | undefined,
  ) {
    super(`answered ${status}`);
  }
}

const MAX_BODY = 4096;
const MAX_JWT_LIFETIME_S = 24 * 60 * 60;

export async function startTestPushService(): Promise<TestPushService> {
  const subscriptions = new Map<string, Subscription>();
  const received: ReceivedPush[] = [];
  const refused: RefusedPush[] = [];
  const answered: { endpoint: string; status: number }[] = [];
  let messages = 0;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const endpoint = `${origin}${request.url ?? ''}`;
      handle(endpoint, request, Buffer.concat(chunks)).then(
        (messageId) => {
          response.writeHead(201, { location: `${origin}/message/${messageId}` }).end();
        },
        (error: unknown) => {
          if (error instanceof Refusal) {
            response.writeHead(error.status, { 'content-type': 'text/plain' }).end(error.message);
            return;
          }
          if (error instanceof Answer) {
            response
              .writeHead(
                error.status,
                error.retryAfter === undefined ? {} : { 'retry-after': error.retryAfter },
              )
              .end();
            return;
          }
          refused.push({ endpoint, status: 500, reason: String(error) });
          response.writeHead(500).end();
        },
      );
    });
  });

  async function handle(endpoint: string, request: http.IncomingMessage, body: Buffer): Promise<number> {
    const subscription = subscriptions.get(endpoint);
    if (request.method !== 'POST') throw refuse(endpoint, 405, `method ${request.method ?? ''}`);
    if (subscription === undefined) throw refuse(endpoint, 404, 'no such subscription');
    if (subscription.gone) {
      answered.push({ endpoint, status: 410 });
      throw new Answer(410, undefined);
    }
    if (subscription.status !== null) {
      answered.push({ endpoint, status: subscription.status.code });
      throw new Answer(subscription.status.code, subscription.status.retryAfter);
    }
    const subject = await checkVapid(endpoint, request.headers.authorization, subscription);
    const ttl = header(request, 'ttl');
    if (ttl === null || !/^\d+$/.test(ttl)) throw refuse(endpoint, 400, 'missing or bad TTL header');
    if (header(request, 'content-encoding') !== 'aes128gcm')
      throw refuse(endpoint, 415, 'Content-Encoding must be aes128gcm');
    if (body.length > MAX_BODY) throw refuse(endpoint, 413, `body of ${body.length} bytes`);
    let text: string;
    try {
      text = decryptAes128gcm(body, subscription).toString('utf8');
    } catch (error) {
      throw refuse(endpoint, 400, `cannot decrypt: ${String(error)}`);
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      payload = text;
    }
    received.push({
      endpoint,
      headers: { ttl, urgency: header(request, 'urgency'), topic: header(request, 'topic') },
      payload,
      text,
      subject,
    });
    messages += 1;
    return messages;
  }

  function refuse(endpoint: string, status: number, reason: string): Refusal {
    refused.push({ endpoint, status, reason });
    return new Refusal(status, reason);
  }

  async function checkVapid(
    endpoint: string,
    authorization: string | undefined,
    subscription: Subscription,
  ): Promise<string> {
    const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)$/.exec(authorization ?? '');
    if (match?.[1] === undefined || match[2] === undefined)
      throw refuse(endpoint, 401, `no "vapid t=…, k=…" Authorization header: ${authorization ?? '(none)'}`);
    const [, jwt, k] = match;
    if (k !== subscription.applicationServerKey)
      throw refuse(endpoint, 403, 'k is not the key the subscription was made with');
    const point = Buffer.from(k, 'base64url');
    const key = await importJWK(
      {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33, 65).toString('base64url'),
      },
      'ES256',
    );
    try {
      const { payload } = await jwtVerify(jwt, key, {
        algorithms: ['ES256'],
        audience: new URL(endpoint).origin,
        requiredClaims: ['exp', 'sub'],
      });
      if ((payload.exp ?? 0) > Date.now() / 1000 + MAX_JWT_LIFETIME_S)
        throw new Error('exp is more than 24 hours away');
      const sub = String(payload.sub);
      if (!/^(mailto:|https:)/.test(sub)) throw new Error(`sub ${sub} is not a mailto: or https: URI`);
      return sub;
    } catch (error) {
      throw refuse(endpoint, 403, `bad VAPID JWT: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  function decryptAes128gcm(body: Buffer, subscription: Subscription): Buffer {
    // Header (RFC 8188 §2.1): salt(16) | rs(4) | idlen(1) | keyid(idlen) = the sender's ephemeral public key.
    if (body.length < 21) throw new Error('shorter than the header');
    const salt = body.subarray(0, 16);
    const rs = body.readUInt32BE(16);
    const idlen = body[20] ?? 0;
    if (idlen !== 65) throw new Error(`keyid of ${idlen} bytes, not a P-256 point`);
    if (rs < 18) throw new Error(`record size ${rs}`);
    const asPublic = body.subarray(21, 21 + idlen);
    const ciphertext = body.subarray(21 + idlen);
    // RFC 8291 §3.4: IKM from the ECDH secret and the auth secret, bound to both public keys.
    const ecdhSecret = subscription.uaKeys.computeSecret(asPublic);
    const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), subscription.uaPublic, asPublic]);
    const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, subscription.authSecret, keyInfo, 32));
    const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
    const baseNonce = Buffer.from(
      hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12),
    );
    const plain: Buffer[] = [];
    const records = Math.ceil(ciphertext.length / rs);
    for (let seq = 0; seq < records; seq++) {
      const record = ciphertext.subarray(seq * rs, (seq + 1) * rs);
      const nonce = Buffer.from(baseNonce);
      // The record's sequence number, XORed into the low bytes (RFC 8188 §2.3; records here are < 2^32).
      nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
      const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
      decipher.setAuthTag(record.subarray(record.length - 16));
      const padded = Buffer.concat([
        decipher.update(record.subarray(0, record.length - 16)),
        decipher.final(),
      ]);
      // Content, then a delimiter (2 in the last record, 1 before), then zero padding.
      let end = padded.length - 1;
      while (end >= 0 && padded[end] === 0) end--;
      const last = seq === records - 1;
      if (padded[end] !== (last ? 2 : 1))
        throw new Error(`record ${seq} has no ${last ? 'final ' : ''}delimiter`);
      plain.push(padded.subarray(0, end));
    }
    return Buffer.concat(plain);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    subscribe({ applicationServerKey }) {
      const uaKeys = createECDH('prime256v1');
      const uaPublic = uaKeys.generateKeys();
      const authSecret = randomBytes(16);
      const endpoint = `${origin}/wpush/v2/${randomUUID()}`;
      subscriptions.set(endpoint, {
        uaKeys,
        uaPublic,
        authSecret,
        applicationServerKey,
        gone: false,
        status: null,
      });
      return {
        endpoint,
        expirationTime: null,
        keys: { p256dh: uaPublic.toString('base64url'), auth: authSecret.toString('base64url') },
      };
    },
    answer(endpoint, status, options = {}) {
      const subscription = subscriptions.get(endpoint);
      if (subscription === undefined) throw new Error(`no subscription ${endpoint}`);
      subscription.status =
        status === null
          ? null
          : { code: status, ...(options.retryAfter !== undefined && { retryAfter: options.retryAfter }) };
    },
    unsubscribe(endpoint) {
      const subscription = subscriptions.get(endpoint);
      if (subscription === undefined) throw new Error(`no subscription ${endpoint}`);
      subscription.gone = true;
    },
    received,
    refused,
    answered,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function header(request: http.IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' ? value : null;
}
