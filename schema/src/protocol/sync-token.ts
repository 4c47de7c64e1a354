/**
 * The sync token (ADR 0012, SPEC AU5–AU7): a short opaque bearer token that sync requests may send instead of the
 * access token, which is a JWT of ~0.8 kB and was most of an idle check-in's bytes.
 *
 * A sync request (`POST /sync/push`, `POST /sync/pull`, `GET /sync/events`) authenticated with an access token is
 * answered with `x-sync-token: vws_…` and `x-sync-token-expires-in: <seconds>`; later sync requests send
 * `Authorization: Bearer vws_…`. A JWT always contains dots and starts with `eyJ`, so the prefix tells the two apart.
 * These are HTTP headers beside the messages, not message shapes: a client that ignores them keeps working.
 */

/** Response header carrying a sync token for the access token the request was authenticated with. */
export const SYNC_TOKEN_HEADER = 'x-sync-token';

/** Response header: seconds from now until that sync token expires (its access token's `exp`). */
export const SYNC_TOKEN_EXPIRES_IN_HEADER = 'x-sync-token-expires-in';

export const SYNC_TOKEN_PREFIX = 'vws_';

/** The prefix and 128 random bits in base64url: 26 characters. */
export const SYNC_TOKEN_PATTERN = /^vws_[A-Za-z0-9_-]{22}$/;
