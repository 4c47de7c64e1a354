/**
 * Phone-number shapes, as regular-expression source text so that one string serves the database's CHECK
 * constraints (POSIX `~`) and every runtime validator (JavaScript `RegExp`).
 */

/** International E.164: `+`, a non-zero country digit, 7–15 digits in all. */
export const E164_PATTERN = '^\\+[1-9][0-9]{6,14}$';

/** A number the phone can dial for emergencies, e.g. `112`, `911`, `*555`. */
export const EMERGENCY_NUMBER_PATTERN = '^[0-9+*#]{2,15}$';
