/**
 * The sync wire protocol's version. Bump it on any change to a message's shape (the wire-shape test fails until
 * you do), and say here what changed and whether older clients are still accepted.
 *
 * History:
 * - 1 (2026-11): push (per-lane sequenced mutations), pull (versioned per-user changes), poke.
 */
export const PROTOCOL_VERSION = 1;

/** The oldest client protocol the server still accepts; older ones are told to update and keep their outbox. */
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;
