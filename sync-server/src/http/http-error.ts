/**
 * Every error a client sees has one JSON shape, `{ error_code, message }`, which is also the shape Supabase Auth
 * uses, so supabase-js reports our errors with their code and message. 5xx never carry internals.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import * as z from 'zod';
import { isTransientDatabaseError } from '../db/transient-database-error.ts';

export type ErrorBody = { error_code: string; message: string };

/** Seconds a client waits before retrying a request that failed for a transient reason (SPEC PU5, DF1). */
export const RETRY_AFTER_SECONDS = 2;

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorCode: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** Response headers that belong to the error, e.g. `retry-after`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The answer to a transient database failure (`isTransientDatabaseError`); send it with Retry-After. */
export function databaseUnavailable(): HttpError {
  return new HttpError(
    503,
    'temporarily_unavailable',
    `The server's database is unavailable or busy right now. Try again in ${RETRY_AFTER_SECONDS} s.`,
  );
}

/**
 * 429 with `Retry-After` (whole seconds, at least 1) and a message that says how long to wait (SPEC SE30). The
 * seconds are repeated in the body as `retry_after_seconds` for clients that cannot read headers (supabase-js).
 */
export function tooManyRequests(retryAfterMs: number, message: string): HttpError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new HttpError(
    429,
    'rate_limited',
    `${message} Try again in ${waitText(seconds)}.`,
    { retry_after_seconds: seconds },
    { 'retry-after': String(seconds) },
  );
}

function waitText(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/**
 * Parses untrusted input with its schema or throws a 400 that names every problem and where it is. Takes any zod 4
 * schema, classic (`zod`) or mini (`zod/mini`, which the shared protocol in `schema/` uses).
 */
export function parseInput<S extends z.core.$ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = z.safeParse(schema, value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const at = [where, ...issue.path.map(String)].join('.');
    return `${at}: ${issue.message}`;
  });
  throw new HttpError(400, 'validation_failed', problems.join('; '));
}

/** Fastify's own errors for bodies it cannot read, mapped to codes a client can act on. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_content_length',
};

/** No request needs deeper JSON (a push is ~6 levels); deeper input would only exhaust the stack downstream. */
export const MAX_JSON_DEPTH = 32;

/** The characters that open or close nesting, or a string (whose brackets don't count). */
const STRUCTURE = /[[\]{}"]/g;

/**
 * Whether `text` nests arrays and objects deeper than `limit`, stopping early past it. Runs on every JSON body
 * before it is parsed, so it must cost little beside the parse: a regular expression finds the next bracket or
 * quote (numbers, the bulk of a samples batch, are skipped natively) and `indexOf` the end of each string.
 * Measured on a 1 MB samples push (bench/README.md): ~0.8 ms, against ~3 ms for a loop over every character and
 * 4–8 ms for the parse itself.
 */
function jsonDepthExceeds(text: string, limit: number): boolean {
  const structure = new RegExp(STRUCTURE);
  let depth = 0;
  for (let match = structure.exec(text); match !== null; match = structure.exec(text)) {
    const c = text.charCodeAt(match.index);
    if (c === 0x22) {
      // The string's closing quote: the next one not escaped by an odd run of backslashes.
      let end = match.index;
      do {
        end = text.indexOf('"', end + 1);
        if (end === -1) return false; // unterminated: the parse says so
      } while (escaped(text, end));
      structure.lastIndex = end + 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else depth--;
  }
  return false;
}

/** Whether the character at `at` follows an odd number of backslashes. */
function escaped(text: string, at: number): boolean {
  let backslashes = 0;
  while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes++;
  return backslashes % 2 === 1;
}

/**
 * Our JSON parser: an empty body is "no body" (supabase-js sends `content-type: application/json` with none on
 * sign-out), so the route's schema decides whether a body was required; bad JSON says where it broke. It keeps
 * fastify's own guard against prototype poisoning (secure-json-parse refuses `__proto__` and
 * `constructor.prototype` keys), and refuses nesting deeper than MAX_JSON_DEPTH before parsing (SPEC SE34).
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw new HttpError(
      400,
      'validation_failed',
      `body: JSON nests deeper than ${MAX_JSON_DEPTH} levels, which no request of this API needs`,
    );
  }
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unreadable';
    throw new HttpError(400, 'malformed_json', `body is not valid JSON: ${reason}`);
  }
}

export function installErrorHandler(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(typeof body === 'string' ? body : body.toString('utf8')));
    } catch (error) {
      done(error as HttpError, undefined);
    }
  });
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      return reply
        .status(error.statusCode)
        .headers(error.headers)
        .send({ ...error.extra, error_code: error.errorCode, message: error.message });
    }
    // A lost, refused or busy database, wherever the route met it (token check, transaction, rollback): the
    // request changed nothing that the retry would not find (SPEC DF1). Devices keep their outbox on 503.
    if (isTransientDatabaseError(error)) {
      request.log.warn({ err: error }, 'database unavailable, asking the client to retry');
      const unavailable = databaseUnavailable();
      return reply
        .status(unavailable.statusCode)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ error_code: unavailable.errorCode, message: unavailable.message } satisfies ErrorBody);
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code =
        FASTIFY_CODES[error.code] ??
        (error.code === 'FST_ERR_VALIDATION' ? 'validation_failed' : 'bad_request');
      const message =
        code === 'unsupported_media_type'
          ? `content-type ${request.headers['content-type'] ?? '(none)'} is not accepted here: send application/json`
          : error.message || 'bad request';
      return reply.status(status).send({ error_code: code, message } satisfies ErrorBody);
    }
    request.log.error({ err: error }, 'request failed');
    return reply
      .status(500)
      .send({ error_code: 'internal', message: 'internal server error' } satisfies ErrorBody);
  });
}

export function notFound(method: string, url: string): ErrorBody {
  return { error_code: 'not_found', message: `no route ${method} ${url}` };
}
