/**
 * Authentication before the body (SPEC SE31): a route that needs a token checks it in an `onRequest` hook, which
 * fastify runs before it reads, inflates or parses a single byte of the body. An anonymous request therefore
 * costs a token check and nothing more, however large or compressed its body; and the per-user request limit
 * (rate-limits.ts), which runs next, knows whom to count.
 *
 * The handler reads the checked caller with `callerOf(request)`.
 */
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { bearerToken, type Caller, type Identity } from '../auth/identity.ts';

const callers = new WeakMap<FastifyRequest, Caller>();

/** Marks the hooks below, so the rate limiter can tell a route that authenticates from a public one. */
const AUTHENTICATES = Symbol('vitalwatch.authenticates');

type AuthenticateHook = onRequestAsyncHookHandler & { [AUTHENTICATES]?: true };

/**
 * The `onRequest` hook for a route that needs a token. `verify` checks it (the access token by default; the sync
 * routes also take sync tokens) and may return response headers to send with the answer.
 */
export function authenticateFirst(
  verify:
    Identity | ((request: FastifyRequest) => Promise<{ caller: Caller; headers: Record<string, string> }>),
): onRequestAsyncHookHandler {
  const check =
    typeof verify === 'function'
      ? verify
      : async (request: FastifyRequest) => ({
          caller: await verify.verify(bearerToken(request.headers.authorization)),
          headers: {},
        });
  const hook: AuthenticateHook = async (request: FastifyRequest, reply: FastifyReply) => {
    const { caller, headers } = await check(request);
    callers.set(request, caller);
    reply.headers(headers);
  };
  hook[AUTHENTICATES] = true;
  return hook;
}

/** The caller `authenticateFirst` checked; throws if the route has no such hook (a bug, not a client error). */
export function callerOf(request: FastifyRequest): Caller {
  const caller = callers.get(request);
  if (caller === undefined) throw new Error(`${request.method} ${request.url}: no authenticateFirst hook`);
  return caller;
}

/** The checked caller, or null when the request has not been (or could not be) authenticated. */
export function authenticatedCaller(request: FastifyRequest): Caller | null {
  return callers.get(request) ?? null;
}

/** Whether a route's `onRequest` hooks include `authenticateFirst`. */
export function authenticatesFirst(onRequest: unknown): boolean {
  const hooks: unknown[] = Array.isArray(onRequest) ? onRequest : [onRequest];
  return hooks.some((hook) => typeof hook === 'function' && AUTHENTICATES in hook);
}
