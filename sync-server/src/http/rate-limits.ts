/**
 * Request limits for every API route (SPEC SE30, SE33), counted by @fastify/rate-limit's in-memory store and
 * answered `429 rate_limited` with `Retry-After` (`tooManyRequests`). Installed before any route is registered:
 * an `onRoute` hook gives each route its limit, so a new route is limited without anyone remembering to.
 *
 * - A route that authenticates first (authenticate-first.ts) counts per signed-in user, after the token check and
 *   before the body is read; an address that keeps failing the token check is counted as a public caller.
 *   A route may count after parsing instead and exempt requests: `/sync/push` exempts the critical lane, so an
 *   SOS is never throttled, whatever the account or others at its address have done (SE33).
 * - Password sign-in and sign-up count per client address; sign-in failures also slow down per account
 *   (auth/sign-in-throttle.ts). The SMS provider's webhooks have their own, larger per-address limit.
 * - Every other route counts per address in one shared bucket, except the web app's files, `/healthz` and the
 *   upload spare-connection ping, which cost next to nothing.
 *
 * Addresses are `request.ip`: behind a reverse proxy set TRUST_PROXY, or every client shares the proxy's address.
 */
import rateLimit from '@fastify/rate-limit';
import type {
  FastifyInstance,
  FastifyRequest,
  onRequestAsyncHookHandler,
  preHandlerAsyncHookHandler,
  preParsingAsyncHookHandler,
  RouteOptions,
} from 'fastify';
import { authenticatedCaller, authenticatesFirst } from './authenticate-first.ts';
import { tooManyRequests } from './http-error.ts';
import type { HttpLimits } from './http-limits.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Count this authenticated route's per-user limit after the body is parsed, and not at all for a request
     * this returns true for (SE33: the critical sync lane).
     */
    exemptFromUserLimit?: (request: FastifyRequest) => boolean;
  }
}

/** Routes that cost next to nothing and are never limited: the web app's files, health and the upload ping. */
const UNLIMITED_URLS = new Set(['/*', '/', '/healthz', '/sync/ping']);

type Limiter = (request: FastifyRequest, options?: { increment?: boolean }) => Promise<void>;

export async function installRateLimits(app: FastifyInstance, limits: HttpLimits): Promise<void> {
  await app.register(rateLimit, { global: false });

  function limiter(max: number, timeWindow: number, message: string, byUser = false): Limiter {
    const count = app.createRateLimit({
      max,
      timeWindow,
      ...(byUser && { keyGenerator: (request) => authenticatedCaller(request)?.userId ?? request.ip }),
    });
    return async (request, options) => {
      const result = await count(request, options);
      if (result.isAllowed) return;
      // Counting, this request is the one over the limit; peeking, a spent limit refuses the next one.
      const spent = options?.increment === false ? result.remaining <= 0 : result.isExceeded;
      if (spent) throw tooManyRequests(result.ttl, message);
    };
  }

  const minute = 60_000;
  const publicCalls = limiter(
    limits.publicRequestsPerAddressPerMinute,
    minute,
    'Too many requests from this network.',
  );
  const signIns = limiter(
    limits.signInPerAddressPerMinute,
    minute,
    'Too many sign-in attempts from this network.',
  );
  const signUps = limiter(
    limits.signUpPerAddressPerHour,
    60 * minute,
    'Too many new accounts from this network.',
  );
  const webhooks = limiter(
    limits.webhookRequestsPerAddressPerMinute,
    minute,
    'Too many webhook calls from this address.',
  );
  const perUser = limiter(
    limits.userRequestsPerMinute,
    minute,
    'Too many requests for this account (an SOS is always accepted).',
    true,
  );

  const onRequest = (limit: Limiter): onRequestAsyncHookHandler => {
    return async (request) => limit(request);
  };
  const passwordSignIn: onRequestAsyncHookHandler = async (request) => {
    const query = request.query as { grant_type?: unknown };
    return query.grant_type === 'password' ? signIns(request) : publicCalls(request);
  };
  // An address that keeps presenting bad tokens is stopped before the token check costs anything more.
  const refusedBefore: onRequestAsyncHookHandler = async (request) =>
    publicCalls(request, { increment: false });
  const countRefusal = async (request: FastifyRequest, reply: { statusCode: number }) => {
    if (reply.statusCode === 401) await publicCalls(request).catch(() => undefined);
  };
  const userBeforeBody: preParsingAsyncHookHandler = async (request, _reply, payload) => {
    if (authenticatedCaller(request) !== null) await perUser(request);
    return payload;
  };
  const userAfterParse: preHandlerAsyncHookHandler = async (request) => {
    const exempt = request.routeOptions.config.exemptFromUserLimit;
    if (exempt?.(request) === true || authenticatedCaller(request) === null) return;
    await perUser(request);
  };

  app.addHook('onRoute', (route: RouteOptions) => {
    if (UNLIMITED_URLS.has(route.url)) return;
    if (authenticatesFirst(route.onRequest)) {
      route.onResponse = [...hooks(route.onResponse), countRefusal];
      if (route.config?.exemptFromUserLimit !== undefined) {
        // No per-address check before the token: strangers behind the same address (a carrier's NAT) who present
        // bad tokens must not be able to hold up an SOS from it.
        route.preHandler = [userAfterParse, ...hooks(route.preHandler)];
      } else {
        route.onRequest = [refusedBefore, ...hooks(route.onRequest)];
        // preParsing runs after every onRequest hook (the token check) and before the body is read or inflated.
        route.preParsing = [userBeforeBody, ...hooks(route.preParsing)];
      }
      return;
    }
    const limit =
      route.url === '/auth/v1/signup'
        ? onRequest(signUps)
        : route.url === '/auth/v1/token'
          ? passwordSignIn
          : route.url.startsWith('/webhooks/')
            ? onRequest(webhooks)
            : onRequest(publicCalls);
    route.onRequest = [limit, ...hooks(route.onRequest)];
  });
}

function hooks<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
