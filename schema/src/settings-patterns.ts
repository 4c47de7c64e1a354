/**
 * Limits of the synced SOS settings (SPEC SO40), as plain values so one definition serves the protocol's schemas,
 * the database's CHECK constraints and the app's forms. Regular expressions are source text (as in
 * phone-patterns.ts), for POSIX `~` and JavaScript `RegExp` alike.
 */

/** The longest name a user may give for their alerts (the SMS cuts it further, SPEC SO3). */
export const MAX_NAME_LENGTH = 100;

/** A region: ISO 3166-1 alpha-2, upper case (`KE`). */
export const REGION_PATTERN = '^[A-Z]{2}$';
