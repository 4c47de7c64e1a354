/**
 * Twilio's webhooks: `POST /webhooks/twilio/status` (a message's status changed) and `POST
 * /webhooks/twilio/inbound` (a contact texted our number). Both are form-encoded and signed with
 * `X-Twilio-Signature` over PUBLIC_URL + path + query string; a request that fails the signature or names another
 * account gets 403 and reaches no handler. The routes live in their own plugin scope so the form parser, its small
 * body limit and the handling of other content types apply to them alone.
 *
 * Status callbacks: 204 once `onStatus` has applied the callback; if it throws, 500, so Twilio counts a failure
 * (it retries only as the callback URL's connection overrides allow). `onStatus` must be idempotent and must apply
 * a status only when `isLaterStatus` says so: callbacks repeat and arrive out of order.
 * Inbound: 200 TwiML with `onInbound`'s reply as one SMS, or an empty `<Response/>` for no reply.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as z from 'zod';
import { HttpError, installErrorHandler, parseInput } from '../../http/http-error.ts';
import { isValidTwilioSignature } from './twilio-signature.ts';
import { parseStatusCallback, type ParsedStatus, type TwilioParams } from './twilio-status.ts';

export const STATUS_PATH = '/webhooks/twilio/status';
export const INBOUND_PATH = '/webhooks/twilio/inbound';
/** Twilio's callbacks are a few hundred bytes; an inbound SMS is at most 1600 characters. */
export const WEBHOOK_BODY_LIMIT = 16 * 1024;

export type InboundMessage = { from: string; to: string; body: string; sid: string };

export type TwilioWebhookDeps = {
  authToken: string;
  /** Our public origin as Twilio reaches it (PUBLIC_URL), without the path. */
  publicUrl: string;
  accountSid: string;
  onStatus(callback: ParsedStatus): Promise<void>;
  /** Returns the reply to text back, or null for none. */
  onInbound(message: InboundMessage): Promise<string | null>;
};

const FORM = 'application/x-www-form-urlencoded';

/** URLSearchParams semantics (`+` is a space), keeping every value of a repeated name, which the signature covers. */
export function parseForm(text: string): TwilioParams {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  // fromEntries defines own properties, so a `__proto__` name is just a name.
  return Object.fromEntries(
    [...values].map(([name, list]): [string, string | string[]] => [
      name,
      list.length === 1 ? list[0]! : list,
    ]),
  );
}

function isParams(body: unknown): body is TwilioParams {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  return Object.values(body).every(
    (value) =>
      typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string')),
  );
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function twimlReply(reply: string | null): string {
  const declaration = '<?xml version="1.0" encoding="UTF-8"?>';
  return reply === null
    ? `${declaration}<Response/>`
    : `${declaration}<Response><Message>${escapeXml(reply)}</Message></Response>`;
}

const InboundParams = z.object({
  MessageSid: z.string().regex(/^[A-Z]{2}[0-9a-fA-F]{32}$/, 'must be a Twilio message SID (SM… or MM…)'),
  From: z.string().min(1, 'is required'),
  To: z.string().min(1, 'is required'),
  // An empty body is possible (a picture message without text).
  Body: z.string(),
});

export async function registerTwilioWebhooks(app: FastifyInstance, deps: TwilioWebhookDeps): Promise<void> {
  /** The request's form parameters once its signature and account are proven; throws 403 otherwise. */
  function authenticated(request: FastifyRequest): TwilioParams {
    const params = isParams(request.body) ? request.body : {};
    const header = request.headers['x-twilio-signature'];
    const signature = typeof header === 'string' ? header : undefined;
    // Read per request, so a test may learn its port after registering.
    const origin = deps.publicUrl.replace(/\/+$/, '');
    if (!isValidTwilioSignature(deps.authToken, origin + request.url, params, signature)) {
      throw new HttpError(
        403,
        'bad_signature',
        signature === undefined
          ? 'X-Twilio-Signature is missing'
          : 'X-Twilio-Signature does not match this request (check TWILIO_AUTH_TOKEN and PUBLIC_URL)',
      );
    }
    if (params.AccountSid !== deps.accountSid) {
      throw new HttpError(403, 'wrong_account', 'this webhook is for another Twilio account');
    }
    return params;
  }

  await app.register(async (scope) => {
    installErrorHandler(scope);
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      FORM,
      { parseAs: 'string', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_request, body, done) => {
        done(null, parseForm(typeof body === 'string' ? body : body.toString('utf8')));
      },
    );
    scope.addContentTypeParser('*', (request, _payload, done) => {
      const type = request.headers['content-type'] ?? '(none)';
      done(
        new HttpError(
          415,
          'unsupported_media_type',
          `content-type ${type} is not accepted here: send ${FORM}`,
        ),
      );
    });

    scope.post(STATUS_PATH, async (request, reply) => {
      const status = parseStatusCallback(authenticated(request));
      await deps.onStatus(status);
      return reply.status(204).send();
    });

    scope.post(INBOUND_PATH, async (request, reply) => {
      const params = parseInput(InboundParams, authenticated(request), 'body');
      const answer = await deps.onInbound({
        from: params.From,
        to: params.To,
        body: params.Body,
        sid: params.MessageSid,
      });
      return reply.status(200).type('text/xml; charset=utf-8').send(twimlReply(answer));
    });
  });
}
