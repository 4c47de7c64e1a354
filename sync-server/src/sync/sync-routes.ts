/**
 * The sync API (FIELD-NOTES §1, schema/SPEC.md PU*, PL*):
 * - `POST /sync/push`: one lane's outbox batch → per-seq results (run-push.ts).
 * - `POST /sync/pull`: the changes after a cursor, one page (run-pull.ts).
 * - `GET /sync/events`: server-sent "pull now" pokes (events-route.ts).
 *
 * Both POST routes take gzip bodies and answer gzip when asked. A client older than MIN_SUPPORTED_PROTOCOL_VERSION
 * gets 426 `update_required` (and keeps its outbox); a transient database failure gets 503 with Retry-After and
 * nothing written.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PullRequest } from '@vitalwatch/schema/protocol/pull-request';
import { PushRequest } from '@vitalwatch/schema/protocol/push-request';
import { encodePullPage } from '@vitalwatch/schema/protocol/pull-page';
import {
  COLUMNAR_PULL_SINCE_PROTOCOL,
  type PullResponse,
  type PullResponseV1,
} from '@vitalwatch/schema/protocol/pull-response';
import type { PushResponse } from '@vitalwatch/schema/protocol/push-response';
import {
  MIN_SUPPORTED_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
} from '@vitalwatch/schema/protocol/protocol-version';
import type { Db } from '../db/database.ts';
import type { Identity } from '../auth/identity.ts';
import { createSyncAuth } from '../auth/sync-tokens.ts';
import { HttpError, parseInput } from '../http/http-error.ts';
import { isTransientDatabaseError } from './database-errors.ts';
import { registerEventsRoute } from './events-route.ts';
import type { AlertHub } from '../alerts/realtime.ts';
import { gunzipRequestBody, sendJson } from './http-compression.ts';
import type { Pokes } from './poke-hub.ts';
import { runPull } from './run-pull.ts';
import { runPush } from './run-push.ts';

/** Seconds a client waits before retrying a batch that failed for a transient reason. */
export const RETRY_AFTER_SECONDS = 2;

/** Largest sync request body, inflated (a full bulk batch of 10,000 samples is about 600 KB of JSON). */
export const DEFAULT_SYNC_BODY_LIMIT = 8 * 1024 * 1024;

export type SyncDeps = {
  db: Db;
  identity: Identity;
  now: () => Date;
  pokes: Pokes;
  bodyLimit: number;
  /** Realtime alerts to this user's open apps (issue #5); none = only pokes. */
  alerts?: AlertHub;
};

/** Checked before the full parse, so an old client whose body no longer parses still hears "update". */
function requireSupportedProtocol(body: unknown): void {
  if (typeof body !== 'object' || body === null || !('protocolVersion' in body)) return;
  const version = body.protocolVersion;
  if (typeof version !== 'number') return;
  if (version < MIN_SUPPORTED_PROTOCOL_VERSION) {
    throw new HttpError(
      426,
      'update_required',
      `This app speaks sync protocol ${version}; the server needs ${MIN_SUPPORTED_PROTOCOL_VERSION} or later. ` +
        'Update the app: your unsent changes are kept on this device and sent after the update.',
      { min_protocol_version: MIN_SUPPORTED_PROTOCOL_VERSION },
    );
  }
  if (version > PROTOCOL_VERSION) {
    throw new HttpError(
      409,
      'protocol_too_new',
      `This app speaks sync protocol ${version}; this server only knows up to ${PROTOCOL_VERSION}. ` +
        'Your changes are kept on this device; try again later.',
      { max_protocol_version: PROTOCOL_VERSION },
    );
  }
}

async function transientFailure(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
): Promise<FastifyReply> {
  request.log.warn({ err: error }, 'sync: transient database failure, asking the client to retry');
  return reply
    .status(503)
    .header('retry-after', String(RETRY_AFTER_SECONDS))
    .send({
      error_code: 'temporarily_unavailable',
      message: `The server is busy; nothing was saved from this batch. Retrying in ${RETRY_AFTER_SECONDS} s.`,
    });
}

export async function registerSyncRoutes(app: FastifyInstance, deps: SyncDeps): Promise<void> {
  const routeOptions = { bodyLimit: deps.bodyLimit, preParsing: [gunzipRequestBody(deps.bodyLimit)] };
  // The access token or a sync token (AU5, AU6); a request with the former is answered with the latter.
  const syncAuth = createSyncAuth(deps.db, deps.identity);

  app.post('/sync/push', routeOptions, async (request, reply) => {
    const { caller, headers } = await syncAuth.authenticate(request);
    reply.headers(headers);
    requireSupportedProtocol(request.body);
    const push = parseInput(PushRequest, request.body, 'body');
    const now = deps.now();
    let outcome;
    try {
      outcome = await runPush(deps.db, caller.claims, push, now);
    } catch (error) {
      if (isTransientDatabaseError(error)) return transientFailure(request, reply, error);
      throw error;
    }
    if (outcome.newVersion !== null) deps.pokes.publish(caller.userId, outcome.newVersion);
    const response: PushResponse = {
      // Each client is answered in its own protocol (PV3).
      protocolVersion: push.protocolVersion,
      lane: push.lane,
      results: outcome.results,
      lastSeq: outcome.lastSeq,
      serverTime: now.getTime(),
      // The rows' `updatedAt`, for the device to complete the rows it created (PU12).
      ...(push.protocolVersion >= 4 && { at: now.getTime() }),
    };
    return sendJson(request, reply, response);
  });

  app.post('/sync/pull', routeOptions, async (request, reply) => {
    const { caller, headers } = await syncAuth.authenticate(request);
    reply.headers(headers);
    requireSupportedProtocol(request.body);
    const pull = parseInput(PullRequest, request.body, 'body');
    let page;
    try {
      page = await runPull(deps.db, caller.claims, pull);
    } catch (error) {
      if (isTransientDatabaseError(error)) return transientFailure(request, reply, error);
      throw error;
    }
    const serverTime = deps.now().getTime();
    // Protocol 1–3 apps parse pages strictly as `changes`; later ones get the smaller columnar form (SPEC PL10).
    if (pull.protocolVersion >= COLUMNAR_PULL_SINCE_PROTOCOL) {
      const { reset, changes, cursor, complete } = page;
      const response: PullResponse = encodePullPage(
        { reset, changes, cursor, complete, serverTime },
        pull.protocolVersion,
      );
      return sendJson(request, reply, response);
    }
    const response: PullResponseV1 = { protocolVersion: pull.protocolVersion, ...page, serverTime };
    return sendJson(request, reply, response);
  });

  await registerEventsRoute(app, { ...deps, syncAuth });
}
