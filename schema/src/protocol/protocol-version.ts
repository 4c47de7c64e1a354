/**
 * The sync wire protocol's version. Bump it on any change to a message's shape (the wire-shape test fails until
 * you do), and say here what changed and whether older clients are still accepted.
 *
 * History:
 * - 1 (2026-11): push (per-lane sequenced mutations), pull (versioned per-user changes), poke.
 * - 2 (2026-11): `settings.update@1` may carry `cancelPin` / `duressPin` PIN verifiers (salted PBKDF2 hashes, or
 *   null to remove), for SMS "SAFE <code> <PIN>" (SPEC AL15). Additive: every protocol-1 body is still valid, so
 *   the minimum stays 1; a protocol-2 app meeting a protocol-1 server hears `protocol_too_new` and keeps its
 *   outbox, so no server ever refuses the new fields as `invalid_args`.
 * - 3 (2026-11): pulled `emergency_contacts` rows carry `appLinked` (the contact linked their own account from an
 *   alert link and gets the alerts in the app too; SPEC AL26). Older apps parse rows strictly, so the server
 *   sends the field only to clients that pull with protocol 3 or later: nothing else changed, and the minimum
 *   stays 1.
 */
export const PROTOCOL_VERSION = 3;

/** The oldest client protocol the server still accepts; older ones are told to update and keep their outbox. */
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;
