/**
 * The devices that receive Web Push alerts (issue #5 item 2). A signed-in user's browser subscribes with our
 * VAPID public key and registers the result here; when someone who lists that user as an emergency contact
 * triggers an SOS, web-push-sender.ts posts to every endpoint of theirs.
 *
 * - `GET /push/vapid-public-key` → `{ publicKey }`, no sign-in (it is public; the page needs it to subscribe).
 * - `POST /push/subscriptions` with `PushSubscription.toJSON()` → 201 new, 200 already known. An endpoint is one
 *   browser profile, so it has one owner: when B signs in on a browser A used, B's subscribe moves the row to B
 *   (alerts meant for A must not pop up on a browser B now uses). RLS would hide A's row from B, so this upsert
 *   runs as the server (the connection's own role), after the token is verified, like other server writes.
 * - `DELETE /push/subscriptions` with `{ endpoint }` → 204, or 404 when the caller has no such row. This one runs
 *   under the caller's RLS (`withUser`): nobody can remove another user's device.
 *
 * At most MAX_SUBSCRIPTIONS_PER_USER rows per user: the ones with the oldest sign of life (last accepted push,
 * else creation) are dropped, so a user who reinstalls often cannot grow the fan-out of every alert.
 *
 * The server will POST to whatever endpoint a user registers, so endpoints are restricted to what push services
 * hand out: `https:` on the default port at a DNS name, never an IP literal or a local name. That keeps this
 * from being a tool to probe the server's own network (SSRF); the answer of a push service never reaches the
 * user anyway.
 */
import type { FastifyInstance } from 'fastify';
import { and, desc, eq, notInArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { pushSubscriptions } from '@vitalwatch/schema/db/tables';
import type { UserId } from '@vitalwatch/schema/ids';
import type { Db } from '../../db/database.ts';
import { withUser } from '../../db/with-user.ts';
import type { Identity } from '../../auth/identity.ts';
import { authenticateFirst, callerOf } from '../../http/authenticate-first.ts';
import { HttpError, parseInput } from '../../http/http-error.ts';
import { decodeBase64Url, isP256PublicKey } from './vapid-keys.ts';

export const MAX_SUBSCRIPTIONS_PER_USER = 20;
export const MAX_ENDPOINT_LENGTH = 2048;

function isPushServiceUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const host = url.hostname.toLowerCase();
  return (
    url.protocol === 'https:' &&
    url.port === '' &&
    url.username === '' &&
    url.password === '' &&
    host.includes('.') &&
    !host.startsWith('[') &&
    !/^[\d.]+$/.test(host) &&
    !/(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/.test(host)
  );
}

const Endpoint = z
  .string()
  .max(MAX_ENDPOINT_LENGTH, `must be at most ${MAX_ENDPOINT_LENGTH} characters`)
  .refine(isPushServiceUrl, "must be a push service's https: URL (no IP address, port or local name)");

/** `PushSubscription.toJSON()` as browsers produce it. */
const SubscriptionBody = z.strictObject({
  endpoint: Endpoint,
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    p256dh: z
      .string()
      .refine(
        isP256PublicKey,
        'must be an uncompressed P-256 public key (65 bytes, base64url without padding)',
      ),
    auth: z
      .string()
      .refine((v) => decodeBase64Url(v, 16) !== null, 'must be a 16-byte secret (base64url without padding)'),
  }),
});

const UnsubscribeBody = z.strictObject({
  endpoint: z.string().min(1).max(MAX_ENDPOINT_LENGTH),
});

export type PushSubscriptionRouteDeps = {
  db: Db;
  identity: Identity;
  vapidPublicKey: string;
  now: () => Date;
};

export async function registerPushSubscriptionRoutes(
  app: FastifyInstance,
  deps: PushSubscriptionRouteDeps,
): Promise<void> {
  const { db, identity, now } = deps;

  app.get('/push/vapid-public-key', async (_request, reply) =>
    // no-cache: a rotated key must reach pages at once, or they would subscribe with the old one.
    reply.header('cache-control', 'no-cache').send({ publicKey: deps.vapidPublicKey }),
  );

  const authenticated = { onRequest: authenticateFirst(identity) };
  app.post('/push/subscriptions', authenticated, async (request, reply) => {
    const caller = callerOf(request);
    const body = parseInput(SubscriptionBody, request.body, 'body');
    const userAgent = request.headers['user-agent']?.slice(0, 512) ?? null;
    const created = await saveSubscription(db, caller.userId, {
      endpoint: body.endpoint,
      p256dh: body.keys.p256dh,
      auth: body.keys.auth,
      userAgent,
      at: now(),
    });
    return reply.status(created ? 201 : 200).send({ endpoint: body.endpoint });
  });

  app.delete('/push/subscriptions', authenticated, async (request, reply) => {
    const caller = callerOf(request);
    const body = parseInput(UnsubscribeBody, request.body, 'body');
    const removed = await withUser(db, caller.claims, (tx) =>
      tx
        .delete(pushSubscriptions)
        .where(
          and(eq(pushSubscriptions.endpoint, body.endpoint), eq(pushSubscriptions.userId, caller.userId)),
        )
        .returning({ id: pushSubscriptions.id }),
    );
    if (removed.length === 0)
      throw new HttpError(404, 'not_found', 'this account has no push subscription with that endpoint');
    return reply.status(204).send();
  });
}

type NewSubscription = {
  endpoint: string;
  p256dh: string;
  auth: string;
  userAgent: string | null;
  at: Date;
};

/**
 * Inserts or takes over the endpoint's row for `userId` (as the server: the row may belong to another user) and
 * trims the user's rows to the limit. Returns whether the endpoint was new to this user.
 */
async function saveSubscription(db: Db, userId: UserId, sub: NewSubscription): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [previous] = await tx
      .select({ userId: pushSubscriptions.userId })
      .from(pushSubscriptions)
      .where(eq(pushSubscriptions.endpoint, sub.endpoint))
      .for('update');
    const keys = { p256dh: sub.p256dh, auth: sub.auth, userAgent: sub.userAgent };
    // One statement either way, so two first subscribes of the same endpoint racing cannot both insert.
    await tx
      .insert(pushSubscriptions)
      .values({ userId, endpoint: sub.endpoint, ...keys, createdAt: sub.at })
      .onConflictDoUpdate({
        target: pushSubscriptions.endpoint,
        set: {
          ...keys,
          userId,
          // Moved to another user: a new subscription for them, with no history of success.
          createdAt: sql`case when ${pushSubscriptions.userId} = ${userId} then ${pushSubscriptions.createdAt} else excluded.created_at end`,
          lastSuccessAt: sql`case when ${pushSubscriptions.userId} = ${userId} then ${pushSubscriptions.lastSuccessAt} else null end`,
        },
      });
    const keep = tx
      .select({ id: pushSubscriptions.id })
      .from(pushSubscriptions)
      .where(eq(pushSubscriptions.userId, userId))
      .orderBy(
        desc(sql`greatest(${pushSubscriptions.createdAt}, ${pushSubscriptions.lastSuccessAt})`),
        desc(pushSubscriptions.id),
      )
      .limit(MAX_SUBSCRIPTIONS_PER_USER);
    await tx
      .delete(pushSubscriptions)
      .where(and(eq(pushSubscriptions.userId, userId), notInArray(pushSubscriptions.id, keep)));
    return previous?.userId !== userId;
  });
}
