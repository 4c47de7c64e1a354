/**
 * The embedded identity provider: the part of Supabase Auth's REST API (GoTrue) that supabase-js uses for
 * email- or phone-with-password accounts, with the same response shapes and claims, so the web app runs one
 * auth code path whether or not Supabase is configured.
 *
 * - Sign-up is confirmed at once and returns a session (there is no mail or SMS sender to confirm with).
 * - Access tokens: ES256, short-lived, with `sub`, `role`, `aud: authenticated`, `session_id`.
 * - Refresh tokens rotate: each use returns a new one and the used one stops working. Only hashes are stored.
 * - A failed sign-in, refresh or token check writes nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { newId, type SessionId, type UserId } from '@vitalwatch/schema/ids';
import { E164_PATTERN } from '@vitalwatch/schema/phone-patterns';
import { activityLogs, userSessions, users } from '@vitalwatch/schema/db/tables';
import type { Db, Tx } from '../db/database.ts';
import { authenticateFirst, callerOf } from '../http/authenticate-first.ts';
import { HttpError, parseInput } from '../http/http-error.ts';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../http/http-limits.ts';
import { provisionUser, type Identity } from './identity.ts';
import { hashPassword, UNUSABLE_HASH, verifyPassword } from './passwords.ts';
import { createSignInThrottle } from './sign-in-throttle.ts';
import type { SigningKey } from './signing-key.ts';

export type EmbeddedAuthOptions = {
  db: Db;
  identity: Identity;
  key: SigningKey;
  issuer: string;
  accessTokenTtlSeconds: number;
  sessionTtlDays: number;
  now: () => Date;
  /** Growing delays after failed sign-ins (SPEC SE32); DEFAULT_HTTP_LIMITS when missing. */
  limits?: Pick<HttpLimits, 'signInFreeFailures' | 'signInMaxDelaySeconds'>;
};

const MIN_PASSWORD_LENGTH = 8;

const Phone = z
  .string()
  .transform((raw) => `+${raw.replace(/[\s()-]/g, '').replace(/^\+/, '')}`)
  .pipe(z.string().regex(new RegExp(E164_PATTERN), 'must be a phone number in international (E.164) form'));

const Credentials = {
  email: z.email().max(320).optional(),
  phone: Phone.optional(),
  password: z.string().min(1).max(1024),
  gotrue_meta_security: z.object({ captcha_token: z.string().optional() }).optional(),
};

function exactlyOneLogin(body: { email?: string | undefined; phone?: string | undefined }) {
  return (body.email === undefined) !== (body.phone === undefined);
}
const oneLoginMessage = { message: 'give either email or phone', path: ['email'] };

const SignUpBody = z
  .looseObject({
    ...Credentials,
    data: z
      .record(z.string(), z.unknown())
      .refine((d) => JSON.stringify(d).length <= 16_384, 'user metadata is larger than 16 KiB')
      .optional(),
    channel: z.enum(['sms', 'whatsapp']).optional(),
  })
  .refine(exactlyOneLogin, oneLoginMessage);

const PasswordGrantBody = z.looseObject(Credentials).refine(exactlyOneLogin, oneLoginMessage);
const RefreshGrantBody = z.looseObject({ refresh_token: z.string().min(1).max(256) });
const TokenQuery = z.looseObject({ grant_type: z.enum(['password', 'refresh_token']) });
const LogoutQuery = z.looseObject({ scope: z.enum(['global', 'local', 'others']).default('global') });

type UserRow = typeof users.$inferSelect;

/** The user object GoTrue returns. */
export function userJson(user: UserRow) {
  const provider = user.email !== null ? 'email' : 'phone';
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: user.id,
    aud: 'authenticated',
    role: 'authenticated',
    email: user.email ?? '',
    phone: user.phone ?? '',
    email_confirmed_at: iso(user.emailConfirmedAt),
    phone_confirmed_at: iso(user.phoneConfirmedAt),
    confirmed_at: iso(user.emailConfirmedAt ?? user.phoneConfirmedAt),
    last_sign_in_at: iso(user.lastSignInAt),
    app_metadata: { provider, providers: [provider] },
    user_metadata: user.userMetadata,
    identities: [],
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
    is_anonymous: false,
  };
}

function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function clientFacts(request: FastifyRequest) {
  return { userAgent: request.headers['user-agent']?.slice(0, 512) ?? null, ip: request.ip };
}

export async function registerEmbeddedAuthRoutes(app: FastifyInstance, options: EmbeddedAuthOptions) {
  const { db, key, issuer, now } = options;
  const limits = options.limits ?? DEFAULT_HTTP_LIMITS;
  const signIns = createSignInThrottle({
    freeFailures: limits.signInFreeFailures,
    maxDelayMs: limits.signInMaxDelaySeconds * 1000,
    now,
  });
  const authenticated = { onRequest: authenticateFirst(options.identity) };

  async function accessToken(user: UserRow, sessionId: SessionId, issuedAt: Date) {
    const iat = Math.floor(issuedAt.getTime() / 1000);
    const exp = iat + options.accessTokenTtlSeconds;
    const token = await new SignJWT({
      role: 'authenticated',
      session_id: sessionId,
      email: user.email ?? '',
      phone: user.phone ?? '',
      aal: 'aal1',
      amr: [{ method: 'password', timestamp: iat }],
      is_anonymous: false,
      app_metadata: userJson(user).app_metadata,
      user_metadata: user.userMetadata,
    })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(user.id)
      .setAudience('authenticated')
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key.privateKey);
    return { token, iat, exp };
  }

  async function sessionResponse(user: UserRow, sessionId: SessionId, refreshToken: string, issuedAt: Date) {
    const { token, exp } = await accessToken(user, sessionId, issuedAt);
    return {
      access_token: token,
      token_type: 'bearer',
      expires_in: options.accessTokenTtlSeconds,
      expires_at: exp,
      refresh_token: refreshToken,
      user: userJson(user),
    };
  }

  function sessionExpiry(from: Date) {
    return new Date(from.getTime() + options.sessionTtlDays * 86_400_000);
  }

  /** Starts a session for a user whose credentials were just proven; returns the new session's response. */
  async function startSession(tx: Tx, user: UserRow, request: FastifyRequest, action: string) {
    const at = now();
    const refreshToken = randomBytes(32).toString('base64url');
    const sessionId = newId<SessionId>();
    const facts = clientFacts(request);
    await tx.insert(userSessions).values({
      id: sessionId,
      userId: user.id,
      refreshTokenHash: hashToken(refreshToken),
      ...facts,
      createdAt: at,
      expiresAt: sessionExpiry(at),
    });
    const [signedIn] = await tx
      .update(users)
      .set({ lastSignInAt: at })
      .where(eq(users.id, user.id))
      .returning();
    await tx.insert(activityLogs).values({
      userId: user.id,
      actorUserId: user.id,
      action,
      targetTable: 'user_sessions',
      targetId: sessionId,
      ...facts,
      occurredAt: at,
    });
    return sessionResponse(signedIn ?? user, sessionId, refreshToken, at);
  }

  function findByLogin(tx: Db | Tx, login: { email?: string | undefined; phone?: string | undefined }) {
    return tx
      .select()
      .from(users)
      .where(
        login.email !== undefined
          ? sql`lower(${users.email}) = lower(${login.email})`
          : eq(users.phone, login.phone ?? ''),
      );
  }

  app.post('/auth/v1/signup', async (request, reply) => {
    const body = parseInput(SignUpBody, request.body, 'body');
    if (body.password.length < MIN_PASSWORD_LENGTH) {
      throw new HttpError(
        422,
        'weak_password',
        `password must be at least ${MIN_PASSWORD_LENGTH} characters`,
        {
          weak_password: { reasons: ['length'] },
        },
      );
    }
    const passwordHash = await hashPassword(body.password);
    const session = await db
      .transaction(async (tx) => {
        const at = now();
        const id = newId<UserId>();
        const created = await provisionUser(
          tx,
          { id, email: body.email ?? null, phone: body.phone ?? null, passwordHash },
          body.data ?? {},
        );
        if (!created) throw new HttpError(500, 'internal', 'user id collision');
        const [user] = await tx
          .update(users)
          .set(body.email !== undefined ? { emailConfirmedAt: at } : { phoneConfirmedAt: at })
          .where(eq(users.id, id))
          .returning();
        if (user === undefined) throw new HttpError(500, 'internal', 'user vanished during sign-up');
        return startSession(tx, user, request, 'auth.sign_up');
      })
      .catch((error: unknown) => {
        if (isUniqueViolation(error))
          throw new HttpError(422, 'user_already_exists', 'User already registered');
        throw error;
      });
    return reply.status(200).send(session);
  });

  app.post('/auth/v1/token', async (request, reply) => {
    const { grant_type } = parseInput(TokenQuery, request.query, 'query');
    if (grant_type === 'password') {
      const body = parseInput(PasswordGrantBody, request.body, 'body');
      // Before any scrypt work: a guess while this account must wait costs nothing (SE32).
      const login = body.email?.toLowerCase() ?? body.phone ?? '';
      signIns.check(login, request.ip);
      const [user] = await findByLogin(db, body);
      // Verify even when there is no such user, so the time taken does not tell who has an account.
      const valid = await verifyPassword(body.password, user?.passwordHash ?? UNUSABLE_HASH);
      if (user === undefined || !valid || user.passwordHash === null) {
        signIns.failed(login, request.ip);
        throw new HttpError(401, 'invalid_credentials', 'Invalid login credentials');
      }
      signIns.succeeded(login, request.ip);
      return reply.send(await db.transaction((tx) => startSession(tx, user, request, 'auth.sign_in')));
    }
    const body = parseInput(RefreshGrantBody, request.body, 'body');
    const presented = hashToken(body.refresh_token);
    const at = now();
    const next = randomBytes(32).toString('base64url');
    const result = await db.transaction(async (tx) => {
      // Rotation is one conditional UPDATE: of two concurrent refreshes with one token, exactly one wins.
      const [session] = await tx
        .update(userSessions)
        .set({
          refreshTokenHash: hashToken(next),
          previousRefreshTokenHash: presented,
          refreshedAt: at,
          expiresAt: sessionExpiry(at),
        })
        .where(
          and(
            eq(userSessions.refreshTokenHash, presented),
            isNull(userSessions.revokedAt),
            gt(userSessions.expiresAt, at),
          ),
        )
        .returning();
      if (session === undefined) return null;
      const [user] = await tx.select().from(users).where(eq(users.id, session.userId));
      if (user === undefined) return null;
      return sessionResponse(user, session.id as SessionId, next, at);
    });
    if (result === null) {
      const [used] = await db
        .select({ id: userSessions.id })
        .from(userSessions)
        .where(eq(userSessions.previousRefreshTokenHash, presented));
      if (used !== undefined) {
        throw new HttpError(401, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
      }
      throw new HttpError(401, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
    }
    return reply.send(result);
  });

  app.get('/auth/v1/user', authenticated, async (request, reply) => {
    const caller = callerOf(request);
    const [user] = await db.select().from(users).where(eq(users.id, caller.userId));
    if (user === undefined)
      throw new HttpError(401, 'user_not_found', 'User from sub claim in JWT does not exist');
    return reply.send(userJson(user));
  });

  app.post('/auth/v1/logout', authenticated, async (request, reply) => {
    const caller = callerOf(request);
    const { scope } = parseInput(LogoutQuery, request.query, 'query');
    const sessionId = caller.sessionId ?? '';
    const which =
      scope === 'local'
        ? eq(userSessions.id, sessionId)
        : scope === 'others'
          ? ne(userSessions.id, sessionId)
          : undefined;
    await db.transaction(async (tx) => {
      const at = now();
      await tx
        .update(userSessions)
        .set({ revokedAt: at, revokedReason: `sign_out:${scope}` })
        .where(and(eq(userSessions.userId, caller.userId), isNull(userSessions.revokedAt), which));
      await tx.insert(activityLogs).values({
        userId: caller.userId,
        actorUserId: caller.userId,
        action: 'auth.sign_out',
        targetTable: 'user_sessions',
        targetId: sessionId,
        metadata: { scope },
        ...clientFacts(request),
        occurredAt: at,
      });
    });
    return reply.status(204).send();
  });

  app.get('/auth/v1/.well-known/jwks.json', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=600').send({ keys: [key.publicJwk] }),
  );
}

/** Postgres error 23505, wherever it sits in the cause chain (drizzle wraps driver errors; PGlite's are not Errors). */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    if ('code' in e && e.code === '23505') return true;
    e = 'cause' in e ? e.cause : undefined;
  }
  return false;
}
