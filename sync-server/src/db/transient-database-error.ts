/**
 * Which database failures mean "try again later" rather than "this request is wrong" or "the server has a bug".
 * Every route answers them with `503 temporarily_unavailable` + `Retry-After` (http-error.ts, SPEC PU5, DF1), and
 * start-up waits them out (wait-for-database.ts, DF4).
 */

/** The SQLSTATE (or Node socket code) along the cause chain: drizzle wraps driver errors, PGlite's are not Errors. */
export function databaseErrorCode(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 6; depth++) {
    if ('code' in e && typeof e.code === 'string') return e.code;
    e = 'cause' in e ? e.cause : undefined;
  }
  return null;
}

const TRANSIENT_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout)
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown (also pg_terminate_backend, a Neon compute restart or scale-to-zero)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN', // DNS not answering
  'ENOTFOUND', // no such host (yet: a container that has not started); a typo waits too, and says so in the log
]);

/**
 * node-postgres reports a lost connection without a code: on the query in flight ("Connection terminated
 * unexpectedly"), on every later query of that client ("Client has encountered a connection error and is not
 * queryable", e.g. drizzle's ROLLBACK after the failure, which then replaces the first error), and pg-pool when no
 * connection came in time ("timeout exceeded when trying to connect", "… due to connection timeout").
 */
const CONNECTION_LOST =
  /Connection terminated|connection (?:is )?closed|is not queryable|timeout exceeded when trying to connect/i;

/** Worth retrying the same request later: nothing about the request or the data is wrong. */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = databaseErrorCode(error);
  if (code !== null && TRANSIENT_CODES.has(code)) return true;
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 6; depth++) {
    if (e instanceof Error && CONNECTION_LOST.test(e.message)) return true;
    e = 'cause' in e ? e.cause : undefined;
  }
  return false;
}
