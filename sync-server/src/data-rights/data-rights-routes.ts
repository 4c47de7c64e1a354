/**
 * The data-rights routes (issue #18 items 6 and 7; SPEC DR2–DR10):
 *
 * - `GET /account/export`: "Download my data": the ZIP of user-archive.ts, with the user's access token. Logged in
 *   `activity_logs` (`account.export`: an export is an access) and limited to `exportsPerHour` per account.
 * - `POST /account/delete` `{ "password": "…" }`: "Delete my account": the password is checked again (embedded: the
 *   stored hash; Supabase Auth: a password sign-in there, i.e. a fresh sign-in), then account-deletion.ts runs
 *   both steps. 200 `{ status: "deleted", rows, files }`, or 202 `{ status: "pending" }` when the second step
 *   failed and the job will finish it. A wrong password: 401 `invalid_password`; five in an hour: 429.
 *
 * The crash-recovery job (`finishPendingDeletions`) runs when the server is ready and then every hour.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { activityLogs, users } from '@vitalwatch/schema/db/tables';
import type { Db } from '../db/database.ts';
import type { Identity } from '../auth/identity.ts';
import type { SessionEnds } from '../auth/session-end-hub.ts';
import { UNUSABLE_HASH, verifyPassword } from '../auth/passwords.ts';
import { authenticateFirst, callerOf } from '../http/authenticate-first.ts';
import { HttpError, parseInput, tooManyRequests } from '../http/http-error.ts';
import {
  finishAccountDeletion,
  finishPendingDeletions,
  requestAccountDeletion,
  type DeletionDeps,
} from './account-deletion.ts';
import type { FileStores } from './user-files.ts';
import { streamUserArchive } from './user-archive.ts';

const HOUR_MS = 60 * 60 * 1000;
/** Wrong passwords an account may send to the delete route per hour before it must wait. */
export const DELETE_PASSWORD_FAILURES_PER_HOUR = 5;
export const DEFAULT_EXPORTS_PER_HOUR = 10;

/** Whether `password` is the account's: the embedded hash, or a password sign-in at Supabase Auth. */
export type PasswordCheck = (db: Db, userId: string, password: string) => Promise<boolean>;

export const embeddedPasswordCheck: PasswordCheck = async (db, userId, password) => {
  const [user] = await db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, userId));
  // Verified even without a hash, so the time taken says nothing.
  const valid = await verifyPassword(password, user?.hash ?? UNUSABLE_HASH);
  return valid && user?.hash != null;
};

export function supabasePasswordCheck(
  auth: { url: string; anonKey: string },
  fetchFn: typeof fetch = fetch,
): PasswordCheck {
  return async (db, userId, password) => {
    const [user] = await db
      .select({ email: users.email, phone: users.phone })
      .from(users)
      .where(eq(users.id, userId));
    if (user === undefined) return false;
    const login = user.email !== null ? { email: user.email } : { phone: user.phone ?? '' };
    const response = await fetchFn(`${auth.url}/auth/v1/token?grant_type=password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', apikey: auth.anonKey },
      body: JSON.stringify({ ...login, password }),
    });
    await response.body?.cancel();
    if (response.ok) return true;
    if (response.status === 400 || response.status === 401) return false;
    throw new HttpError(
      503,
      'auth_unreachable',
      'Could not check the password with the sign-in service: try again',
    );
  };
}

export type DataRightsDeps = {
  db: Db;
  identity: Identity;
  now: () => Date;
  sessionEnds: SessionEnds;
  /** The file stores; null when this server stores no files. */
  stores: FileStores | 'supabase-without-service-key';
  checkPassword: PasswordCheck;
  exportsPerHour?: number;
};

const DeleteBody = z.object({ password: z.string().min(1).max(1024) });

function clientFacts(request: FastifyRequest) {
  return { userAgent: request.headers['user-agent']?.slice(0, 512) ?? null, ip: request.ip };
}

export async function registerDataRightsRoutes(app: FastifyInstance, deps: DataRightsDeps): Promise<void> {
  const authenticated = { onRequest: authenticateFirst(deps.identity) };
  const stores: FileStores =
    deps.stores === 'supabase-without-service-key' ? { dir: null, supabase: null } : deps.stores;
  const deletion: DeletionDeps = { db: deps.db, stores, now: deps.now, sessionEnds: deps.sessionEnds };
  const perUser = (request: FastifyRequest) => callerOf(request).userId;
  const exports = app.createRateLimit({
    max: deps.exportsPerHour ?? DEFAULT_EXPORTS_PER_HOUR,
    timeWindow: HOUR_MS,
    keyGenerator: perUser,
  });
  const wrongPasswords = app.createRateLimit({
    max: DELETE_PASSWORD_FAILURES_PER_HOUR,
    timeWindow: HOUR_MS,
    keyGenerator: perUser,
  });

  app.get('/account/export', authenticated, async (request, reply) => {
    const caller = callerOf(request);
    const limit = await exports(request);
    if (!limit.isAllowed && limit.isExceeded)
      throw tooManyRequests(limit.ttl, 'You downloaded your data often in the last hour.');
    const at = deps.now();
    await deps.db.insert(activityLogs).values({
      userId: caller.userId,
      actorUserId: caller.userId,
      action: 'account.export',
      ...clientFacts(request),
      occurredAt: at,
    });
    const { stream, done } = streamUserArchive(deps.db, stores, caller.userId, at);
    done.catch((error: unknown) => request.log.error({ err: error }, 'data export failed part-way'));
    const day = at.toISOString().slice(0, 10);
    return reply
      .header('content-type', 'application/zip')
      .header('content-disposition', `attachment; filename="vitalwatch-my-data-${day}.zip"`)
      .header('cache-control', 'no-store')
      .send(stream);
  });

  app.post('/account/delete', authenticated, async (request, reply) => {
    const caller = callerOf(request);
    const { password } = parseInput(DeleteBody, request.body, 'body');
    const before = await wrongPasswords(request, { increment: false });
    if (!before.isAllowed && before.remaining <= 0)
      throw tooManyRequests(before.ttl, 'Too many wrong passwords for this account.');
    if (!(await deps.checkPassword(deps.db, caller.userId, password))) {
      await wrongPasswords(request);
      throw new HttpError(
        401,
        'invalid_password',
        'That is not the password of this account: nothing was deleted.',
      );
    }
    if (deps.stores === 'supabase-without-service-key') {
      throw new HttpError(
        503,
        'cannot_delete_files',
        'This server cannot delete files in Supabase Storage (SUPABASE_SERVICE_KEY is not set): nothing was deleted. Ask its operator.',
      );
    }
    await requestAccountDeletion(deletion, caller.userId);
    try {
      const receipt = await finishAccountDeletion(deletion, caller.userId);
      const rows = Object.values(receipt?.rowsDeleted ?? {}).reduce((a, b) => a + b, 0);
      return await reply.send({ status: 'deleted', rows, files: receipt?.filesDeleted ?? 0 });
    } catch (error) {
      // The mark is committed: the job finishes it (and sign-in and every token are refused meanwhile).
      request.log.error({ err: error }, 'account deletion: second step failed, the job will finish it');
      return reply.status(202).send({ status: 'pending' });
    }
  });

  const runJob = () =>
    finishPendingDeletions(deletion).then(
      (finished) => {
        if (finished > 0) app.log.info({ finished }, 'account deletions finished by the job');
      },
      (error: unknown) =>
        app.log.error({ err: error }, 'account deletion job failed; it runs again in an hour'),
    );
  app.addHook('onReady', async () => {
    void runJob();
  });
  const timer = setInterval(() => void runJob(), HOUR_MS);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}
