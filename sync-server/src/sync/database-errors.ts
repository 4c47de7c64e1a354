/**
 * What a database error means for a push: retry the whole batch later (transient), refuse this one mutation for
 * good (a constraint the data breaks), or neither (a bug: the batch fails with 500 and nothing is written).
 */
import { MutationRejected } from './mutation-rejected.ts';

/** The SQLSTATE (or Node socket code) along the cause chain: drizzle wraps driver errors, PGlite's are not Errors. */
export function databaseErrorCode(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 6; depth++) {
    if ('code' in e && typeof e.code === 'string') return e.code;
    e = 'cause' in e ? e.cause : undefined;
  }
  return null;
}

function databaseErrorField(error: unknown, field: 'constraint' | 'message'): string | null {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 6; depth++) {
    if ('code' in e && field in e) {
      const value = (e as Record<string, unknown>)[field];
      return typeof value === 'string' ? value : null;
    }
    e = 'cause' in e ? e.cause : undefined;
  }
  return null;
}

const TRANSIENT_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout)
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
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
]);

/** Worth retrying the same batch later: nothing about the data is wrong. */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = databaseErrorCode(error);
  if (code !== null && TRANSIENT_CODES.has(code)) return true;
  // node-postgres reports a dropped connection without a code (drizzle wraps it as the cause).
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 6; depth++) {
    if (e instanceof Error && /Connection terminated|connection (?:is )?closed/i.test(e.message)) return true;
    e = 'cause' in e ? e.cause : undefined;
  }
  return false;
}

/**
 * A constraint the mutation's data breaks, as a rejection the user can act on; null when the error is not about
 * the data (the caller rethrows it).
 */
export function rejectionForDatabaseError(error: unknown): MutationRejected | null {
  const code = databaseErrorCode(error);
  if (code === null) return null;
  const constraint = databaseErrorField(error, 'constraint') ?? '';
  if (code === '42501') {
    return new MutationRejected('forbidden', 'This record belongs to another account; it was not changed.');
  }
  if (code === '23505') {
    return constraint.endsWith('_pkey')
      ? new MutationRejected(
          'forbidden',
          'This id is already used by another account; the entry was not saved.',
        )
      : new MutationRejected('conflict', `This conflicts with an existing record (${constraint}).`);
  }
  if (code.startsWith('23') || code.startsWith('22')) {
    const detail = constraint || (databaseErrorField(error, 'message') ?? code);
    return new MutationRejected(
      'invalid_args',
      `The server refused these values (${detail}). Check the entry and save it again.`,
    );
  }
  return null;
}
