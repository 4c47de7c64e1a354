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
 * - 4 (2026-11): smaller on the wire (issue #3's byte targets). Every change below reaches only clients that send
 *   protocol 4 or later; older ones get the protocol-3 shapes, so the minimum stays 1.
 *   - `samples.append@2`: one id per batch instead of one per sample; the server derives each sample's id
 *     (`schema/src/protocol/sample-ids.ts`). `samples.append@1` is still accepted.
 *   - Pull pages are columnar: per table, the column names once and each column's values as one array.
 *   - Own rows are not echoed: an `ok` for a mutation that created a row exactly from its arguments carries the
 *     row's version (`v`) and the push its commit time (`at`); the device keeps those versions and a pull leaves
 *     them out (`skip`).
 * - 5 (2026-12): a lost answer never hides a rejection (issue #21, SPEC PU13). A `dup` of a mutation the server
 *   rejected carries `rejected: {code, message}`, the first answer's; a `dup` without it was applied (`ok`; its
 *   `v` is not repeated, so such a row comes back by pull as before PU12). Every answer's `protocolVersion` is the
 *   client's own (PV3). A client of protocol 4 or older gets the protocol-4 shapes (a bare `dup`), so the minimum
 *   stays 1. A protocol-5 client no longer clears unmentioned seqs at or below `lastSeq` as `dup` (CL16): it sends
 *   them, so their `dup` tells it how each one ended.
 *   Also in 5: `incident.trigger@1` may carry `utcOffsetMinutes`, the phone's UTC offset, so the server's SMS
 *   shows local time with its offset (SPEC SO4). Additive and optional: older apps' triggers are still valid (their
 *   alerts show UTC).
 * - 6 (2026-12): one synced record of SOS settings (issue #14, SPEC SO40, PV4). `settings.update@1` may carry
 *   `name`, `emergencyNumber`, `region` and `silentSos`, and pulled `user_settings` rows carry them. Additive: every
 *   protocol-5 body is still valid; the server sends the new row fields only to clients that pull with protocol 6
 *   or later (older apps parse rows strictly), so the minimum stays 1.
 * - 7 (2026-12): coping tools log distress (issue #16, SPEC WB21). `coping.log@1` may carry `distressBefore` and
 *   `distressAfter` (0 … 10), and pulled `coping_tools_usage` rows carry them. Additive: every protocol-6 body is
 *   still valid; the server sends the new row fields only to clients that pull with protocol 7 or later (older
 *   apps parse rows strictly), so the minimum stays 1.
 *   Also in 7: check-in questionnaire results (SPEC WB47): the mutator `screener.record@1` and the synced table
 *   `screener_results`, which pull sends only to clients of protocol 7 or later (an older app has no store for it,
 *   RG9).
 */
export const PROTOCOL_VERSION = 7;

/** The oldest client protocol the server still accepts; older ones are told to update and keep their outbox. */
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;
