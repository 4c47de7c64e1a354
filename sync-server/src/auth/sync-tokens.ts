/**
 * Authentication of sync requests (`POST /sync/push`, `POST /sync/pull`, `GET /sync/events`; ADR 0012, SPEC AU5,
 * AU6). They take the access token (a JWT, checked by `Identity`) or a sync token (`vws_…`, 26 characters) that an
 * earlier sync response handed out for that access token, so an idle check-in does not carry ~0.8 kB of JWT.
 *
 * Invariants:
 * - A sync token is 128 bits from the CSPRNG; only its SHA-256 is stored (`sync_tokens`, primary key), so a
 *   check is one indexed lookup. Embedded, the lookup joins the session as `Identity.verify` does, so sign-out or
 *   the session's end refuses the token at once; with Supabase only expiry counts, as for Supabase's JWTs.
 * - It expires with the access token it was issued for (that JWT's `exp`), never later, and stands for the same
 *   user and session. Its caller's claims are `sub`, `role` and `session_id`: RLS reads only `sub`, the sync routes
 *   only the user id, so they act exactly as with the JWT.
 * - Any refusal is `401 sync_token_invalid`: the client drops the token and sends the access token again.
 * - One token per access token per server instance: a bounded in-memory map from the access token's hash to the
 *   token it got, so repeated or concurrent JWT requests (a device before its first answer, a poke stream) share
 *   one row. Each issue first deletes the expired rows (through the `expires_at` index).
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import type { SessionId, UserId } from '@vitalwatch/schema/ids';
import { syncTokens, userSessions } from '@vitalwatch/schema/db/tables';
import {
  SYNC_TOKEN_EXPIRES_IN_HEADER,
  SYNC_TOKEN_HEADER,
  SYNC_TOKEN_PATTERN,
  SYNC_TOKEN_PREFIX,
} from '@vitalwatch/schema/protocol/sync-token';
import type { Db } from '../db/database.ts';
import { HttpError } from '../http/http-error.ts';
import { bearerToken, type Caller, type Identity } from './identity.ts';

export type SyncAuthentication = {
  caller: Caller;
  /** Response headers: the sync token for a request that came with an access token, else none. */
  headers: Record<string, string>;
};

export type SyncAuth = {
  /** Throws a 401 HttpError for a missing, invalid or refused access token or sync token. */
  authenticate(request: FastifyRequest): Promise<SyncAuthentication>;
};

/** Access tokens whose sync token one instance remembers; beyond that the oldest tenth is forgotten. */
const MAX_REMEMBERED = 10_000;

type Issued = { token: string; expiresAt: Date };

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function refused(message: string): HttpError {
  return new HttpError(401, 'sync_token_invalid', `${message}: send the access token instead`);
}

/**
 * Validity is judged as for access tokens: by the database's `now()` (sessions, sync tokens) and by jose against
 * real time (JWTs), so `x-sync-token-expires-in` is counted in real time too, not by the app's injected clock.
 */
export function createSyncAuth(db: Db, identity: Identity): SyncAuth {
  /** Access token's SHA-256 (base64) → its sync token; Map order = issue order, for eviction. */
  const remembered = new Map<string, { issued: Promise<Issued>; expiresAt: Date }>();

  async function verify(token: string): Promise<Caller> {
    if (!SYNC_TOKEN_PATTERN.test(token)) throw refused('sync token is malformed');
    const hash = sha256(token);
    const columns = {
      userId: syncTokens.userId,
      sessionId: syncTokens.sessionId,
      expiresAt: syncTokens.expiresAt,
    };
    const live = and(eq(syncTokens.tokenHash, hash), gt(syncTokens.expiresAt, sql`now()`));
    const [row] =
      identity.kind === 'embedded'
        ? await db
            .select(columns)
            .from(syncTokens)
            .innerJoin(
              userSessions,
              and(eq(userSessions.id, syncTokens.sessionId), eq(userSessions.userId, syncTokens.userId)),
            )
            .where(and(live, isNull(userSessions.revokedAt), gt(userSessions.expiresAt, sql`now()`)))
        : await db.select(columns).from(syncTokens).where(live);
    if (row === undefined) throw refused('sync token is unknown or expired, or its session has ended');
    const userId = row.userId as UserId;
    const sessionId = row.sessionId as SessionId | null;
    return {
      userId,
      sessionId,
      claims: { sub: userId, role: 'authenticated', ...(sessionId !== null && { session_id: sessionId }) },
      expiresAt: row.expiresAt,
    };
  }

  async function insert(caller: Caller, expiresAt: Date): Promise<Issued> {
    const token = `${SYNC_TOKEN_PREFIX}${randomBytes(16).toString('base64url')}`;
    await db.delete(syncTokens).where(lte(syncTokens.expiresAt, sql`now()`));
    await db.insert(syncTokens).values({
      tokenHash: sha256(token),
      userId: caller.userId,
      // Supabase's session ids are not rows of ours (and are not checked).
      sessionId: identity.kind === 'embedded' ? caller.sessionId : null,
      expiresAt,
    });
    return { token, expiresAt };
  }

  function forget(): void {
    const at = Date.now();
    for (const [key, entry] of remembered) if (entry.expiresAt.getTime() <= at) remembered.delete(key);
    // Still full: drop the oldest tenth, so this runs once per many issues. Their devices get a new token.
    const target = Math.floor(MAX_REMEMBERED * 0.9);
    for (const key of remembered.keys()) {
      if (remembered.size <= target) break;
      remembered.delete(key);
    }
  }

  /** The sync token for this access token: the one already issued, else a new row. Null for a JWT without `exp`. */
  function issue(accessToken: string, caller: Caller): Promise<Issued> | null {
    const { expiresAt } = caller;
    if (expiresAt === null) return null;
    const key = sha256(accessToken).toString('base64');
    const known = remembered.get(key);
    if (known !== undefined) return known.issued;
    if (remembered.size >= MAX_REMEMBERED) forget();
    const issued = insert(caller, expiresAt);
    remembered.set(key, { issued, expiresAt });
    issued.catch(() => {
      if (remembered.get(key)?.issued === issued) remembered.delete(key);
    });
    return issued;
  }

  return {
    async authenticate(request) {
      const token = bearerToken(request.headers.authorization);
      if (token.startsWith(SYNC_TOKEN_PREFIX)) return { caller: await verify(token), headers: {} };
      const caller = await identity.verify(token);
      try {
        const issued = await issue(token, caller);
        if (issued === null) return { caller, headers: {} };
        const seconds = Math.floor((issued.expiresAt.getTime() - Date.now()) / 1000);
        return {
          caller,
          headers: {
            [SYNC_TOKEN_HEADER]: issued.token,
            [SYNC_TOKEN_EXPIRES_IN_HEADER]: String(Math.max(0, seconds)),
          },
        };
      } catch (error) {
        // The request is authenticated; without a sync token the device just keeps sending its access token.
        request.log.warn({ err: error }, 'sync token: could not issue one');
        return { caller, headers: {} };
      }
    },
  };
}
