/**
 * What a database error means for a push: retry the whole batch later (transient, `isTransientDatabaseError`),
 * refuse this one mutation for good (a constraint the data breaks), or neither (a bug: the batch fails with 500 and
 * nothing is written).
 */
import { databaseErrorCode } from '../db/transient-database-error.ts';
import { MutationRejected } from './mutation-rejected.ts';

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
