/**
 * The embedded identity provider: the part of Supabase Auth's REST API (GoTrue) that supabase-js uses for
 * email- or phone-with-password accounts, with the same response shapes and claims, so the web app runs one
 * auth code path whether or not Supabase is configured.
 *
 * - Sign-up is confirmed at once (there is no mail or SMS sender to confirm with) and answers the user without a
 *   session, as Supabase does with confirmations on; the app signs in next. An email or phone that already has an
 *   account gets the same answer with a stand-in user, after the same work, and nothing changes (ADR 0016, SE45).
 * - Access tokens: ES256, short-lived, with `sub`, `role`, `aud: authenticated`, `session_id`.
 * - Refresh tokens rotate: each use returns the next one and the used one stops working. Only hashes are stored.
 *   A used token presented again within REFRESH_REUSE_INTERVAL_MS gets the same answer again; later, or any older
 *   token of the session, revokes the session (ADR 0015, SE40–SE41).
 * - Every session a sign-out or a reuse ends is announced on `sessionEnds` after commit, so its open event streams
 *   end (SE42).
 * - A failed sign-in, refresh or token check writes nothing, except the revocation of a session whose refresh
 *   token was reused.
 */
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
import {
  firstRefreshToken,
  hashRefreshToken,
  nextRefreshToken,
  refreshTokenSession,
} from './refresh-tokens.ts';
import { accountDeleted, isDeletedAccountSession } from './deleted-accounts.ts';
import type { SessionEnds } from './session-end-hub.ts';
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
  sessionEnds: SessionEnds;
  /** Growing delays after failed sign-ins (SPEC SE32); DEFAULT_HTTP_LIMITS when missing. */
  limits?: Pick<HttpLimits, 'signInFreeFailures' | 'signInMaxDelaySeconds'>;
};

const MIN_PASSWORD_LENGTH = 8;

/**
 * GoTrue's default `GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL`: a used refresh token presented again this soon
 * is a retry (a lost answer, two tabs at once), not a theft.
 */
export const REFRESH_REUSE_INTERVAL_MS = 10_000;

/**
 * Sign-up metadata is copied into every access token, which travels in a request header (8 KiB is a common
 * limit): 1 KiB of JSON and 16 keys keep the largest token near 2.5 kB (SE46).
 */
export const MAX_USER_METADATA_BYTES = 1024;
export const MAX_USER_METADATA_KEYS = 16;

const UserMetadata = z
  .record(z.string(), z.unknown())
  .refine(
    (d) => Object.keys(d).length <= MAX_USER_METADATA_KEYS,
    `user metadata may have at most ${MAX_USER_METADATA_KEYS} keys: keep only a few short fields, such as a name`,
  )
  .refine(
    (d) => Buffer.byteLength(JSON.stringify(d)) <= MAX_USER_METADATA_BYTES,
    `user metadata is larger than ${MAX_USER_METADATA_BYTES} bytes as JSON: keep only a few short fields, such as a name`,
  );

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
    data: UserMetadata.optional(),
    channel: z.enum(['sms', 'whatsapp']).optional(),
  })
  .refine(exactlyOneLogin, oneLoginMessage);

const PasswordGrantBody = z.looseObject(Credentials).refine(exactlyOneLogin, oneLoginMessage);
const RefreshGrantBody = z.looseObject({ refresh_token: z.string().min(1).max(256) });
const TokenQuery = z.looseObject({ grant_type: z.enum(['password', 'refresh_token']) });
const LogoutQuery = z.looseObject({ scope: z.enum(['global', 'local', 'others']).default('global') });

type UserRow = typeof users.$inferSelect;
type UserFacts = Pick<
  UserRow,
  | 'id'
  | 'email'
  | 'phone'
  | 'emailConfirmedAt'
  | 'phoneConfirmedAt'
  | 'lastSignInAt'
  | 'userMetadata'
  | 'createdAt'
  | 'updatedAt'
>;

/** The user object GoTrue returns. */
export function userJson(user: UserFacts) {
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
    const sessionId = newId<SessionId>();
    const refreshToken = firstRefreshToken(key.refreshTokenKey, sessionId);
    const facts = clientFacts(request);
    await tx.insert(userSessions).values({
      id: sessionId,
      userId: user.id,
      refreshTokenHash: hashRefreshToken(refreshToken),
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
    // Hashed whether or not the login is taken, and the insert is tried either way: the same work, the same time.
    const passwordHash = await hashPassword(body.password);
    const at = now();
    const id = newId<UserId>();
    const login = { email: body.email ?? null, phone: body.phone ?? null };
    const metadata = body.data ?? {};
    const created = await db
      .transaction(async (tx) => {
        if (!(await provisionUser(tx, { id, ...login, passwordHash }, metadata)))
          throw new HttpError(500, 'internal', 'user id collision');
        const [user] = await tx
          .update(users)
          .set(body.email !== undefined ? { emailConfirmedAt: at } : { phoneConfirmedAt: at })
          .where(eq(users.id, id))
          .returning();
        if (user === undefined) throw new HttpError(500, 'internal', 'user vanished during sign-up');
        await tx.insert(activityLogs).values({
          userId: id,
          actorUserId: id,
          action: 'auth.sign_up',
          targetTable: 'users',
          targetId: id,
          ...clientFacts(request),
          occurredAt: at,
        });
        return user;
      })
      .catch((error: unknown) => {
        if (isUniqueViolation(error)) return null;
        throw error;
      });
    // Taken: the answer a new account gets, for a user that does not exist (what GoTrue does with confirmations
    // on). The owner learns nothing here and signs in; nothing was written.
    const answer = created ?? {
      id,
      ...login,
      emailConfirmedAt: body.email !== undefined ? at : null,
      phoneConfirmedAt: body.phone !== undefined ? at : null,
      lastSignInAt: null,
      userMetadata: metadata,
      createdAt: at,
      updatedAt: at,
    };
    return reply.status(200).send(userJson(answer));
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
      // Its deletion was asked for and is being finished (SPEC DR7): no new session.
      if (user.deletionRequestedAt !== null) throw accountDeleted();
      return reply.send(await db.transaction((tx) => startSession(tx, user, request, 'auth.sign_in')));
    }
    const body = parseInput(RefreshGrantBody, request.body, 'body');
    const outcome = await db.transaction((tx) => refresh(tx, body.refresh_token, request));
    if (outcome.kind === 'session') return reply.send(outcome.response);
    if (outcome.kind === 'revoked') options.sessionEnds.publish(outcome.sessionId);
    // A refresh token of a deleted account's session: say so, so the device erases its copy (SPEC DR7).
    const family = refreshTokenSession(key.refreshTokenKey, body.refresh_token);
    if (outcome.kind !== 'revoked' && family !== null && (await isDeletedAccountSession(db, family)))
      throw accountDeleted();
    if (outcome.kind === 'not_found')
      throw new HttpError(401, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
    throw new HttpError(401, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
  });

  type RefreshOutcome =
    | { kind: 'session'; response: Awaited<ReturnType<typeof sessionResponse>> }
    | { kind: 'revoked'; sessionId: SessionId }
    | { kind: 'already_used' | 'not_found' };

  /**
   * One refresh, in one transaction (GoTrue's rules, ADR 0015): the current token rotates; the previous one within
   * the reuse interval gets the current one again; any other token this session issued (the previous one later,
   * or an older one) is a reuse and revokes the session. The session row is locked first, so of two refreshes
   * with one token exactly one rotates and the other sees the result.
   */
  async function refresh(tx: Tx, presented: string, request: FastifyRequest): Promise<RefreshOutcome> {
    const hash = hashRefreshToken(presented);
    const at = now();
    const live = and(isNull(userSessions.revokedAt), gt(userSessions.expiresAt, at));
    const [current] = await tx
      .select()
      .from(userSessions)
      .where(and(eq(userSessions.refreshTokenHash, hash), live))
      .for('update');
    if (current !== undefined) {
      const sessionId = current.id as SessionId;
      const next = nextRefreshToken(key.refreshTokenKey, sessionId, presented);
      await tx
        .update(userSessions)
        .set({
          refreshTokenHash: hashRefreshToken(next),
          previousRefreshTokenHash: hash,
          refreshedAt: at,
          expiresAt: sessionExpiry(at),
        })
        .where(eq(userSessions.id, sessionId));
      return respond(tx, current.userId, sessionId, next, at);
    }

    const [previous] = await tx
      .select()
      .from(userSessions)
      .where(eq(userSessions.previousRefreshTokenHash, hash))
      .for('update');
    const familyId = previous?.id ?? refreshTokenSession(key.refreshTokenKey, presented);
    if (familyId === null) return { kind: 'not_found' };
    const sessionId = familyId as SessionId;
    if (previous !== undefined && previous.revokedAt === null && previous.expiresAt > at) {
      const retry = nextRefreshToken(key.refreshTokenKey, sessionId, presented);
      const soon =
        previous.refreshedAt !== null &&
        at.getTime() - previous.refreshedAt.getTime() <= REFRESH_REUSE_INTERVAL_MS;
      if (soon && hashRefreshToken(retry).equals(previous.refreshTokenHash))
        return respond(tx, previous.userId, sessionId, retry, at);
    }

    const [revoked] = await tx
      .update(userSessions)
      .set({ revokedAt: at, revokedReason: 'refresh_token_reused' })
      .where(and(eq(userSessions.id, sessionId), live))
      .returning({ userId: userSessions.userId });
    // Unknown to us (deleted with its user), already ended, or expired: nothing more to end.
    if (revoked === undefined) return { kind: 'already_used' };
    await tx.insert(activityLogs).values({
      userId: revoked.userId,
      actorUserId: null,
      actorKind: 'system',
      action: 'auth.refresh_token_reused',
      targetTable: 'user_sessions',
      targetId: sessionId,
      ...clientFacts(request),
      occurredAt: at,
    });
    return { kind: 'revoked', sessionId };
  }

  async function respond(
    tx: Tx,
    userId: string,
    sessionId: SessionId,
    refreshToken: string,
    at: Date,
  ): Promise<RefreshOutcome> {
    const [user] = await tx.select().from(users).where(eq(users.id, userId));
    if (user === undefined) return { kind: 'not_found' };
    return { kind: 'session', response: await sessionResponse(user, sessionId, refreshToken, at) };
  }

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
    const ended = await db.transaction(async (tx) => {
      const at = now();
      const revoked = await tx
        .update(userSessions)
        .set({ revokedAt: at, revokedReason: `sign_out:${scope}` })
        .where(and(eq(userSessions.userId, caller.userId), isNull(userSessions.revokedAt), which))
        .returning({ id: userSessions.id });
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
      return revoked;
    });
    for (const { id } of ended) options.sessionEnds.publish(id);
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
