/**
 * How much the server accepts before it says "slow down" (429) or hangs up, in one place so config.ts, buildApp
 * and the README agree. Every number here is configurable (README, "Configuration"); the defaults are below.
 *
 * Request limits are counted per server instance (in memory): with N instances an address or user gets up to N
 * times as much. That is fine for their purpose (keeping one client from taking the server for itself); the
 * sign-in throttle's protection against password guessing is per instance too (docs/security.md).
 */
export type HttpLimits = {
  /** Password sign-ins per client address per minute (any account). */
  signInPerAddressPerMinute: number;
  /** Failed sign-ins an account (from one address) may have before each further failure makes it wait. */
  signInFreeFailures: number;
  /** The longest wait a run of failed sign-ins can impose, seconds. */
  signInMaxDelaySeconds: number;
  /** Sign-ups per client address per hour. */
  signUpPerAddressPerHour: number;
  /** Requests per signed-in user per minute on the routes that need a token. An SOS push is never counted. */
  userRequestsPerMinute: number;
  /** Requests per client address per minute on the other API routes (alert pages, token refresh, downloads). */
  publicRequestsPerAddressPerMinute: number;
  /** Requests per address per minute to the SMS provider's webhooks (its callbacks come from a few addresses). */
  webhookRequestsPerAddressPerMinute: number;
};

export type HttpTimeouts = {
  /** The request line and headers must arrive within this, ms (Node's `headersTimeout`). */
  headersMs: number;
  /** The whole request, body included, must arrive within this, ms (`requestTimeout`). */
  requestMs: number;
  /** A connection with no bytes either way for this long is closed, ms (`connectionTimeout`). */
  idleMs: number;
  /** An idle keep-alive connection between requests is kept this long, ms (`keepAliveTimeout`). */
  keepAliveMs: number;
};

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  signInPerAddressPerMinute: 20,
  signInFreeFailures: 5,
  signInMaxDelaySeconds: 900,
  signUpPerAddressPerHour: 10,
  userRequestsPerMinute: 600,
  publicRequestsPerAddressPerMinute: 300,
  webhookRequestsPerAddressPerMinute: 1_200,
};

/**
 * Headers: a phone on a poor link sends ~1 kB of headers in well under 20 s. Request: a 6 MiB upload chunk needs
 * ~170 kbit/s to arrive within 300 s; a slower upload is cut and resumes from the bytes that arrived (tus).
 * Idle: longer than the event stream's 25 s heartbeat and the keep-alive, so only dead connections hit it.
 * Keep-alive: longer than the 30 s between the spare connections a device opens while uploading (SPEC CL15).
 */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  headersMs: 20_000,
  requestMs: 300_000,
  idleMs: 90_000,
  keepAliveMs: 72_000,
};
