/**
 * gzip both ways for the sync routes (the bandwidth budget in issue #3 assumes it).
 *
 * - Request bodies with `content-encoding: gzip` are inflated in a preParsing hook. The route's body limit applies
 *   to the inflated bytes as well as the wire bytes (fastify counts both), and the inflater stops at the limit, so
 *   a small "zip bomb" is a 413, not a busy CPU.
 * - Responses are gzipped when the client accepts it and the JSON is big enough for it to pay off.
 */
import { Transform, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { FastifyReply, FastifyRequest, preParsingAsyncHookHandler } from 'fastify';
import { HttpError } from '../http/http-error.ts';

const gzip = promisify(zlib.gzip);

/** Below this a gzip header and trailer cost more than they save. */
const MIN_GZIP_BYTES = 1024;

type CountedStream = Transform & { receivedEncodedLength: number };

/** Each sync request's body size as parsed (inflated), for the daily byte quota (push-quotas.ts). */
const bodyBytes = new WeakMap<FastifyRequest, number>();

/** The bytes of JSON the request's body held (after gzip inflation); 0 without a body. */
export function requestBodyBytes(request: FastifyRequest): number {
  return bodyBytes.get(request) ?? 0;
}

/** Passes the body through, counting it into `bodyBytes` (fastify reads `receivedEncodedLength` for its checks). */
function countBody(request: FastifyRequest, payload: Readable): CountedStream {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      counter.receivedEncodedLength += chunk.length;
      bodyBytes.set(request, counter.receivedEncodedLength);
      callback(null, chunk);
    },
  }) as CountedStream;
  counter.receivedEncodedLength = 0;
  payload.on('error', (error) => counter.destroy(error));
  return payload.pipe(counter);
}

export function gunzipRequestBody(limit: number): preParsingAsyncHookHandler {
  return async (request, _reply, payload) => {
    const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding === 'identity' || encoding === '') return countBody(request, payload);
    if (encoding !== 'gzip') {
      throw new HttpError(
        415,
        'unsupported_content_encoding',
        `content-encoding ${encoding} is not accepted here: send gzip or no encoding`,
      );
    }
    let inflated = 0;
    const limiter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        inflated += chunk.length;
        bodyBytes.set(request, inflated);
        if (inflated > limit) {
          callback(
            new HttpError(413, 'body_too_large', `the request body inflates to more than ${limit} bytes`),
          );
          return;
        }
        callback(null, chunk);
      },
    }) as CountedStream;
    limiter.receivedEncodedLength = 0;
    const gunzip = zlib.createGunzip();
    const raw = payload as Readable;
    raw.on('data', (chunk: Buffer) => {
      limiter.receivedEncodedLength += chunk.length;
    });
    gunzip.on('error', (error) => {
      limiter.destroy(
        new HttpError(400, 'malformed_gzip', `the request body is not valid gzip: ${error.message}`),
      );
    });
    limiter.on('close', () => {
      raw.unpipe(gunzip);
      gunzip.destroy();
    });
    raw.pipe(gunzip).pipe(limiter);
    return limiter;
  };
}

function acceptsGzip(request: FastifyRequest): boolean {
  const header = request.headers['accept-encoding'];
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Sends `body` as JSON, gzipped when the client accepts gzip and the body is worth compressing. */
export async function sendJson(
  request: FastifyRequest,
  reply: FastifyReply,
  body: unknown,
): Promise<FastifyReply> {
  const json = JSON.stringify(body);
  reply.header('vary', 'accept-encoding').type('application/json; charset=utf-8');
  if (json.length < MIN_GZIP_BYTES || !acceptsGzip(request)) return reply.send(json);
  const compressed = await gzip(json);
  return reply.header('content-encoding', 'gzip').send(compressed);
}
