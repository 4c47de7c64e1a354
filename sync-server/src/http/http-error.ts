/**
 * Every error a client sees has one JSON shape, `{ error_code, message }`, which is also the shape Supabase Auth
 * uses, so supabase-js reports our errors with their code and message. 5xx never carry internals.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
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

export function installErrorHandler(app: FastifyInstance): void {
  // Our JSON parser: an empty body is "no body" (supabase-js sends `content-type: application/json` with none on
  // sign-out), so the route's schema decides whether a body was required; bad JSON says where it broke.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'unreadable';
      done(new HttpError(400, 'malformed_json', `body is not valid JSON: ${reason}`), undefined);
    }
  });
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      return reply
        .status(error.statusCode)
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
