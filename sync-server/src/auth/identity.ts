/**
 * Who is calling. Two providers behind one interface:
 * - embedded (default): we issue ES256 access tokens (auth/embedded-auth-routes.ts) and verify them with our own
 *   public key; a token whose session was revoked (sign-out, expiry) is refused even before it expires.
 * - supabase (SUPABASE_URL set): Supabase Auth issues tokens; we verify them against its JWKS and create the
 *   user's rows on first sight.
 */
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';
import type { SessionId, UserId } from '@vitalwatch/schema/ids';
import { subscriptionData, userSessions, userSettings, users } from '@vitalwatch/schema/db/tables';
import type { Db, Tx } from '../db/database.ts';
import type { RequestClaims } from '../db/with-user.ts';
import { HttpError } from '../http/http-error.ts';
import { accountDeleted, isDeletedAccount } from './deleted-accounts.ts';
import type { SigningKey } from './signing-key.ts';

export type Caller = {
  userId: UserId;
  sessionId: SessionId | null;
  claims: RequestClaims;
  /** When the credential the caller presented expires (the JWT's `exp`); null if it never does. */
  expiresAt: Date | null;
};

export type Identity = {
  kind: 'embedded' | 'supabase';
  /** Throws a 401 HttpError for a missing, malformed, expired, forged or revoked token. */
  verify(token: string): Promise<Caller>;
};

const AccessClaims = z.looseObject({
  sub: z.uuid(),
  role: z.literal('authenticated'),
  session_id: z.uuid().optional(),
  exp: z.number().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
});

async function verifyWith(keys: JWTVerifyGetKey, issuer: string, token: string) {
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer,
      audience: 'authenticated',
      algorithms: ['ES256', 'RS256'],
    });
    const claims = AccessClaims.safeParse(payload);
    if (!claims.success)
      throw new HttpError(401, 'bad_jwt', 'access token lacks the claims of a signed-in user');
    return claims.data;
  } catch (error) {
    if (error instanceof HttpError) throw error;
    if (error instanceof joseErrors.JWTExpired)
      throw new HttpError(401, 'token_expired', 'access token has expired');
    if (error instanceof joseErrors.JOSEError)
      throw new HttpError(401, 'bad_jwt', `invalid access token: ${error.message}`);
    throw error;
  }
}

function toCaller(claims: z.infer<typeof AccessClaims>): Caller {
  const userId = claims.sub as UserId;
  return {
    userId,
    sessionId: (claims.session_id ?? null) as SessionId | null,
    claims: { ...claims, sub: userId, role: 'authenticated' },
    expiresAt: claims.exp === undefined ? null : new Date(claims.exp * 1000),
  };
}

export function embeddedIdentity(db: Db, key: SigningKey, issuer: string): Identity {
  const keys = createLocalJWKSet({ keys: [key.publicJwk] });
  return {
    kind: 'embedded',
    async verify(token) {
      const claims = await verifyWith(keys, issuer, token);
      if (claims.session_id === undefined) throw new HttpError(401, 'bad_jwt', 'access token has no session');
      if (!(await isSessionLive(db, claims.session_id, claims.sub))) {
        if (await isDeletedAccount(db, claims.sub)) throw accountDeleted();
        throw new HttpError(401, 'session_not_found', 'session has ended: sign in again');
      }
      return toCaller(claims);
    },
  };
}

/** Whether an embedded session of this user is neither revoked (sign-out, refresh-token reuse) nor expired. */
export async function isSessionLive(db: Db, sessionId: string, userId: string): Promise<boolean> {
  const live = await db
    .select({ id: userSessions.id })
    .from(userSessions)
    .where(
      and(
        eq(userSessions.id, sessionId),
        eq(userSessions.userId, userId),
        isNull(userSessions.revokedAt),
        gt(userSessions.expiresAt, sql`now()`),
      ),
    );
  return live.length > 0;
}

export function supabaseIdentity(db: Db, supabaseUrl: string): Identity {
  const keys = createRemoteJWKSet(new URL(`${supabaseUrl}/auth/v1/.well-known/jwks.json`));
  const known = new Set<string>();
  return {
    kind: 'supabase',
    async verify(token) {
      const claims = await verifyWith(keys, `${supabaseUrl}/auth/v1`, token);
      if (!known.has(claims.sub)) {
        // A deleted account is never provisioned again from a token Supabase still honours (SPEC DR7).
        if (await isDeletedAccount(db, claims.sub)) throw accountDeleted();
        await db.transaction((tx) =>
          provisionUser(tx, {
            id: claims.sub as UserId,
            email: claims.email || null,
            phone: claims.phone ? `+${claims.phone.replace(/^\+/, '')}` : null,
            passwordHash: null,
          }),
        );
        known.add(claims.sub);
      }
      return toCaller(claims);
    },
  };
}

export type NewUser = { id: UserId; email: string | null; phone: string | null; passwordHash: string | null };

/** Creates a user with default settings and the free plan; does nothing for a user who already exists. */
export async function provisionUser(
  tx: Tx,
  user: NewUser,
  metadata: Record<string, unknown> = {},
): Promise<boolean> {
  const inserted = await tx
    .insert(users)
    .values({ ...user, userMetadata: metadata })
    // Only an existing id is "already provisioned"; a taken email or phone is an error the caller reports.
    .onConflictDoNothing({ target: users.id })
    .returning({ id: users.id });
  if (inserted.length === 0) return false;
  await tx.insert(userSettings).values({ userId: user.id });
  await tx.insert(subscriptionData).values({ userId: user.id });
  return true;
}

export function bearerToken(authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1])
    throw new HttpError(401, 'no_authorization', 'missing "Authorization: Bearer <access token>" header');
  return match[1];
}
