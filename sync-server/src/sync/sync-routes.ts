/**
 * The sync API (docs/sync-design.md, schema/SPEC.md PU*, PL*):
 * - `POST /sync/push`: one lane's outbox batch → per-seq results (run-push.ts).
 * - `POST /sync/pull`: the changes after a cursor, one page (run-pull.ts).
 * - `GET /sync/events`: server-sent "pull now" pokes (events-route.ts).
 *
 * Both POST routes take gzip bodies and answer gzip when asked. A client older than MIN_SUPPORTED_PROTOCOL_VERSION
 * gets 426 `update_required` (and keeps its outbox); a transient database failure, at any step, gets 503 with
 * Retry-After from the error handler (http-error.ts) and nothing written.
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
import { OWN_ROWS_SINCE_PROTOCOL, type PushResponse } from '@vitalwatch/schema/protocol/push-response';
import {
  MIN_SUPPORTED_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
} from '@vitalwatch/schema/protocol/protocol-version';
import type { Db, DbKind } from '../db/database.ts';
import { createDatabaseGate, type DatabaseGate } from '../db/database-gate.ts';
import type { Identity } from '../auth/identity.ts';
import type { SessionEnds } from '../auth/session-end-hub.ts';
import { createSyncAuth } from '../auth/sync-tokens.ts';
import { authenticateFirst, callerOf } from '../http/authenticate-first.ts';
import { HttpError, parseInput } from '../http/http-error.ts';
import { registerEventsRoute, type AlertStream } from './events-route.ts';
import { gunzipRequestBody, requestBodyBytes, sendJson } from './http-compression.ts';
import type { Pokes } from './poke-hub.ts';
import type { OnPushed } from './pushed-changes.ts';
import { runPull } from './run-pull.ts';
import {
  chargeDailyQuota,
  checkPushSize,
  countSamples,
  refundDailyQuota,
  returnUnstoredSamples,
  type QuotaCharge,
  type SyncQuotas,
} from './push-quotas.ts';
import { BULK_STEP_SAMPLES, runBulkPush } from './run-bulk-push.ts';
import { runPush, type PushOutcome } from './run-push.ts';

/** The largest push body, as sent (gzip or not), that may be an SOS and goes ahead of bulk work (SE47). */
export const MAX_POSSIBLE_SOS_BYTES = 64 * 1024;

/** Largest sync request body, inflated (a full bulk batch of 10,000 samples is about 600 KB of JSON). */
export const DEFAULT_SYNC_BODY_LIMIT = 8 * 1024 * 1024;

export type SyncDeps = {
  db: Db;
  dbKind: DbKind;
  /** What one account may write through sync (push-quotas.ts). */
  quotas: SyncQuotas;
  identity: Identity;
  now: () => Date;
  pokes: Pokes;
  /** Ended sessions (sign-out, refresh-token reuse): their event streams end. */
  sessionEnds: SessionEnds;
  bodyLimit: number;
  /** Samples per bulk step; BULK_STEP_SAMPLES of `dbKind` when missing. */
  bulkStepSamples?: number;
  /** Who gets the database next; a new gate for `dbKind` when missing. */
  gate?: DatabaseGate;
  /** Realtime alerts to this user's open apps (issue #5); none = only pokes. */
  alerts?: AlertStream;
  /** Alert delivery, told what each committed push changed (pushed-changes.ts); none = no alert delivery. */
  onPushed?: OnPushed;
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

/** Whether the raw body names a lane the quotas count (anything but `critical`; the parse checks it after). */
function isCountedLane(body: unknown): boolean {
  return !(typeof body === 'object' && body !== null && 'lane' in body && body.lane === 'critical');
}

/** An SOS: the critical lane (incidents and their events) is never throttled (SPEC SE33). */
function isCriticalPush(request: FastifyRequest): boolean {
  return !isCountedLane(request.body);
}

export async function registerSyncRoutes(app: FastifyInstance, deps: SyncDeps): Promise<void> {
  // The access token or a sync token (AU5, AU6); a request with the former is answered with the latter. Checked
  // before the body is inflated or parsed, so an anonymous body costs nothing (SE31).
  // Who goes to the database first: an SOS, then user pushes, then bulk steps (SE24, SE25).
  const gate = deps.gate ?? createDatabaseGate(deps.dbKind);
  const stepSamples = deps.bulkStepSamples ?? BULK_STEP_SAMPLES[deps.dbKind];
  const syncAuth = createSyncAuth(deps.db, deps.identity);
  const authenticate = authenticateFirst((request) => syncAuth.authenticate(request));
  // No page headers (SE35): these answers are JSON or event streams read by the app's code, never rendered, and an
  // idle check-in must stay within AU7's 1 kB.
  const routeOptions = {
    helmet: false as const,
    bodyLimit: deps.bodyLimit,
    onRequest: [authenticate],
    preParsing: [gunzipRequestBody(deps.bodyLimit)],
  };

  app.post(
    '/sync/push',
    {
      ...routeOptions,
      config: { exemptFromUserLimit: isCriticalPush },
      // Before the token check: the SOS's whole path, its token's database lookup included, goes ahead of bulk work.
      onRequest: [holdBulkForPossibleSos, ...routeOptions.onRequest],
      preParsing: [bigBodyAfterSos, ...routeOptions.preParsing],
    },
    (request, reply) => {
      const release = possibleSos.get(request);
      if (isCountedLane(request.body)) {
        release?.();
        return handlePush(request, reply);
      }
      // An SOS keeps its hold until its answer is written (the hook's `close`, SE50), not just until its handler
      // returns: the next request on its connection is read only after that, and no bulk block runs in between.
      return gate.whileCritical(() => handlePush(request, reply));
    },
  );

  /** Releases of the pushes that may be an SOS (SE47): until their lane is known, no bulk work runs. */
  const possibleSos = new WeakMap<FastifyRequest, () => void>();

  /**
   * A push whose body is small may be an SOS (an SOS and its events are a few kB; a day's samples are not): it
   * counts as critical from its first hook until its handler reads another lane, or its answer goes out (an SOS
   * holds on until then, SE50), or MAY_BE_CRITICAL_MS pass (SE47). Its size is the one it announces: a body
   * without `content-length` is big.
   */
  async function holdBulkForPossibleSos(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const length = Number(request.headers['content-length'] ?? Number.NaN);
    if (!(length <= MAX_POSSIBLE_SOS_BYTES)) return;
    const release = gate.mayBeCritical();
    possibleSos.set(request, release);
    reply.raw.once('close', release);
  }

  /** A big push body is inflated and parsed on the event loop: after the SOS requests in flight (SE47). */
  async function bigBodyAfterSos(request: FastifyRequest): Promise<void> {
    if (!possibleSos.has(request)) await gate.bulkTurn();
  }

  async function handlePush(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const caller = callerOf(request);
    requireSupportedProtocol(request.body);
    // The critical lane (an SOS and its events) is never counted or refused by a quota (SE22).
    const counted = isCountedLane(request.body);
    const use = { samples: countSamples(request.body), bytes: requestBodyBytes(request) };
    if (counted) checkPushSize(use, deps.quotas);
    const push = parseInput(PushRequest, request.body, 'body');
    const now = deps.now();
    let charge: QuotaCharge | null = null;
    let outcome: PushOutcome & { newSamples?: number };
    try {
      if (push.lane !== 'critical')
        charge = await chargeDailyQuota(deps.db, caller.userId, use, deps.quotas, now);
      outcome =
        push.lane === 'bulk'
          ? await runBulkPush(deps.db, gate, caller.claims, push, now, stepSamples)
          : await runPush(deps.db, gate, caller.claims, push, now);
    } catch (error) {
      // A 429 for a daily quota carries its Retry-After (push-quotas.ts), sent by the error handler.
      if (charge !== null) {
        await refundDailyQuota(deps.db, charge).catch((refundError: unknown) =>
          request.log.error(
            { err: refundError },
            'sync: could not give back the quota charge of a failed push',
          ),
        );
      }
      // A transient database error becomes 503 with Retry-After in the error handler (DF1).
      throw error;
    }
    // Samples already stored (a re-sent batch whose answer was lost, a rejected batch) are not counted (SE48).
    if (charge !== null && outcome.newSamples !== undefined && outcome.newSamples < charge.samples) {
      await returnUnstoredSamples(deps.db, charge, charge.samples - outcome.newSamples).catch(
        (refundError: unknown) =>
          request.log.error(
            { err: refundError },
            'sync: could not give back the samples a push did not store',
          ),
      );
    }
    if (outcome.newVersion !== null) {
      deps.pokes.publish(caller.userId, outcome.newVersion);
      deps.onPushed?.(caller.userId, outcome.changes);
    }
    const response: PushResponse = {
      // Each client is answered in its own protocol (PV3).
      protocolVersion: push.protocolVersion,
      lane: push.lane,
      results: outcome.results,
      lastSeq: outcome.lastSeq,
      serverTime: now.getTime(),
      // The rows' `updatedAt`, for the device to complete the rows it created (PU12).
      ...(push.protocolVersion >= OWN_ROWS_SINCE_PROTOCOL && { at: now.getTime() }),
    };
    return sendJson(request, reply, response);
  }

  app.post('/sync/pull', routeOptions, async (request, reply) => {
    const caller = callerOf(request);
    requireSupportedProtocol(request.body);
    const pull = parseInput(PullRequest, request.body, 'body');
    const page = await runPull(deps.db, caller.claims, pull);
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

  await registerEventsRoute(app, { ...deps, authenticate });
}
