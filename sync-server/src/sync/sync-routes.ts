/**
 * The sync API (FIELD-NOTES §1, schema/SPEC.md PU*, PL*):
 * - `POST /sync/push`: one lane's outbox batch → per-seq results (run-push.ts).
 * - `POST /sync/pull`: the changes after a cursor, one page (run-pull.ts).
 * - `GET /sync/events`: server-sent "pull now" pokes (events-route.ts).
 *
 * Both POST routes take gzip bodies and answer gzip when asked. A client older than MIN_SUPPORTED_PROTOCOL_VERSION
 * gets 426 `update_required` (and keeps its outbox); a transient database failure, at any step, gets 503 with
 * Retry-After from the error handler (http-error.ts) and nothing written.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
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
import type { SessionEnds } from '../auth/session-end-hub.ts';
import { createSyncAuth } from '../auth/sync-tokens.ts';
import { authenticateFirst, callerOf } from '../http/authenticate-first.ts';
import { HttpError, parseInput } from '../http/http-error.ts';
import { registerEventsRoute } from './events-route.ts';
import type { AlertHub } from '../alerts/realtime.ts';
import { gunzipRequestBody, sendJson } from './http-compression.ts';
import type { Pokes } from './poke-hub.ts';
import { runPull } from './run-pull.ts';
import { runPush } from './run-push.ts';

/** Largest sync request body, inflated (a full bulk batch of 10,000 samples is about 600 KB of JSON). */
export const DEFAULT_SYNC_BODY_LIMIT = 8 * 1024 * 1024;

export type SyncDeps = {
  db: Db;
  identity: Identity;
  now: () => Date;
  pokes: Pokes;
  /** Ended sessions (sign-out, refresh-token reuse): their event streams end. */
  sessionEnds: SessionEnds;
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

/** An SOS: the critical lane (incidents and their events) is never throttled (SPEC SE33). */
function isCriticalPush(request: FastifyRequest): boolean {
  const body = request.body;
  return typeof body === 'object' && body !== null && 'lane' in body && body.lane === 'critical';
}

export async function registerSyncRoutes(app: FastifyInstance, deps: SyncDeps): Promise<void> {
  // The access token or a sync token (AU5, AU6); a request with the former is answered with the latter. Checked
  // before the body is inflated or parsed, so an anonymous body costs nothing (SE31).
  const syncAuth = createSyncAuth(deps.db, deps.identity);
  const authenticate = authenticateFirst((request) => syncAuth.authenticate(request));
  const routeOptions = {
    bodyLimit: deps.bodyLimit,
    onRequest: authenticate,
    preParsing: [gunzipRequestBody(deps.bodyLimit)],
  };

  app.post(
    '/sync/push',
    { ...routeOptions, config: { exemptFromUserLimit: isCriticalPush } },
    async (request, reply) => {
      const caller = callerOf(request);
      requireSupportedProtocol(request.body);
      const push = parseInput(PushRequest, request.body, 'body');
      const now = deps.now();
      const outcome = await runPush(deps.db, caller.claims, push, now);
      if (outcome.newVersion !== null) deps.pokes.publish(caller.userId, outcome.newVersion);
      const response: PushResponse = {
        protocolVersion: PROTOCOL_VERSION,
        lane: push.lane,
        results: outcome.results,
        lastSeq: outcome.lastSeq,
        serverTime: now.getTime(),
        // The rows' `updatedAt`, for the device to complete the rows it created (PU12).
        ...(push.protocolVersion >= 4 && { at: now.getTime() }),
      };
      return sendJson(request, reply, response);
    },
  );

  app.post('/sync/pull', routeOptions, async (request, reply) => {
    const caller = callerOf(request);
    requireSupportedProtocol(request.body);
    const pull = parseInput(PullRequest, request.body, 'body');
    const page = await runPull(deps.db, caller.claims, pull);
    const serverTime = deps.now().getTime();
    // Protocol 1–3 apps parse pages strictly as `changes`; later ones get the smaller columnar form (SPEC PL10).
    if (pull.protocolVersion >= COLUMNAR_PULL_SINCE_PROTOCOL) {
      const { reset, changes, cursor, complete } = page;
      const response: PullResponse = encodePullPage({ reset, changes, cursor, complete, serverTime });
      return sendJson(request, reply, response);
    }
    const response: PullResponseV1 = { protocolVersion: PROTOCOL_VERSION, ...page, serverTime };
    return sendJson(request, reply, response);
  });

  await registerEventsRoute(app, { ...deps, authenticate });
}
