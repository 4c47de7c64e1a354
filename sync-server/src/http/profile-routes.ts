/**
 * The signed-in user's own profile. Every query runs through `withUser`, the code path all user-data routes use,
 * so row-level security (not this code) is what keeps one user's rows from another.
 */
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { userSettings, users } from '@vitalwatch/schema/db/tables';
import { EMERGENCY_NUMBER_PATTERN } from '@vitalwatch/schema/phone-patterns';
import type { Db } from '../db/database.ts';
import { withUser } from '../db/with-user.ts';
import { nextUserVersion } from '../db/user-version.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import type { Identity } from '../auth/identity.ts';
import { authenticateFirst, callerOf } from './authenticate-first.ts';
import { HttpError, parseInput } from './http-error.ts';

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const ProfilePatch = z.strictObject({
  display_name: z.string().trim().min(1).max(100).nullable().optional(),
  locale: z
    .string()
    .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, 'must be a BCP 47 language tag such as "en" or "pt-BR"')
    .optional(),
  time_zone: z
    .string()
    .max(64)
    .refine(isTimeZone, 'must be an IANA time zone such as "Africa/Nairobi"')
    .optional(),
  emergency_number: z
    .string()
    .regex(new RegExp(EMERGENCY_NUMBER_PATTERN), 'must be a dialable number such as "112"')
    .nullable()
    .optional(),
});

type UserRow = typeof users.$inferSelect;

function profileJson(user: UserRow) {
  return {
    id: user.id,
    email: user.email,
    phone: user.phone,
    display_name: user.displayName,
    locale: user.locale,
    time_zone: user.timeZone,
    emergency_number: user.emergencyNumber,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

export async function registerProfileRoutes(
  app: FastifyInstance,
  deps: { db: Db; identity: Identity; now: () => Date; pokes: Pokes },
) {
  const authenticated = { onRequest: authenticateFirst(deps.identity) };
  app.get('/api/v1/me', authenticated, async (request) => {
    const caller = callerOf(request);
    const [user] = await withUser(deps.db, caller.claims, (tx) =>
      tx.select().from(users).where(eq(users.id, caller.userId)),
    );
    if (user === undefined) throw new HttpError(404, 'not_found', 'no profile for this user');
    return profileJson(user);
  });

  app.patch('/api/v1/me', authenticated, async (request) => {
    const caller = callerOf(request);
    const patch = parseInput(ProfilePatch, request.body, 'body');
    // The name and the emergency number are also fields of the synced settings row (SPEC SO40): moving its
    // version sends them to every device of the account.
    const synced = patch.display_name !== undefined || patch.emergency_number !== undefined;
    let version: number | null = null;
    const [user] = await withUser(deps.db, caller.claims, async (tx) => {
      if (synced) {
        version = await nextUserVersion(tx, caller.userId);
        await tx
          .update(userSettings)
          .set({ version, updatedAt: deps.now() })
          .where(eq(userSettings.userId, caller.userId));
      }
      return tx
        .update(users)
        .set({
          ...(patch.display_name !== undefined && { displayName: patch.display_name }),
          ...(patch.locale !== undefined && { locale: patch.locale }),
          ...(patch.time_zone !== undefined && { timeZone: patch.time_zone }),
          ...(patch.emergency_number !== undefined && { emergencyNumber: patch.emergency_number }),
          updatedAt: deps.now(),
        })
        .where(eq(users.id, caller.userId))
        .returning();
    });
    if (user === undefined) throw new HttpError(404, 'not_found', 'no profile for this user');
    if (version !== null) deps.pokes.publish(caller.userId, version);
    return profileJson(user);
  });
}
