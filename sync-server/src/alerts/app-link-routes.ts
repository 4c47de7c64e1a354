/**
 * A contact asks, from an alert link, to get the alerts in their own VitalWatch account (issue #5, SPEC AL23–AL25;
 * approval by the owner: issue #13, SE10–SE12). The alert link is not enough proof on its own: a text can be
 * forwarded or read over a shoulder, and whoever holds the link would then get the owner's later alerts and
 * location. So the link only lets an account *ask*; the owner approves or declines in their app
 * (contact-app-link-routes.ts), and `emergency_contacts.contact_user_id`, which the dispatcher reads, is only ever
 * set by the owner's approval.
 *
 * - `GET /api/v1/alert-links/:token/link` → `{ linked, pending, name }`: whose alerts these are and whether the
 *   caller gets them or waits for approval. Nothing about other accounts.
 * - `POST` → asks: the contact's one waiting request (`app_link_requested_by`) becomes the caller's. Asking again
 *   changes nothing; an approved account asking gets `linked: true`. Another account's waiting request is never
 *   replaced (409): the owner answers it first. Limits (SE12): a declined account cannot ask again for that contact
 *   for 30 days, an account asks at most 3 times a week per contact, and has at most 10 requests waiting in all.
 * - `DELETE` → the caller takes back its request or, if linked, stops getting the alerts (also after the link
 *   expired: it proves itself by being that account, not by the link); any other caller gets 404 `not_linked`.
 *
 * Every change is in the owner's audit log (app-link-audit.ts). Only an unlink changes what the owner's devices
 * pull (`appLinked`), so only it takes the owner's next version and pokes; a request changes no synced row.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { eq, sql } from 'drizzle-orm';
import { emergencyContacts } from '@vitalwatch/schema/db/tables';
import type { UserId } from '@vitalwatch/schema/ids';
import type { AppLinkAnswer } from '@vitalwatch/schema/protocol/app-link';
import type { Caller, Identity } from '../auth/identity.ts';
import { authenticateFirst, callerOf } from '../http/authenticate-first.ts';
import type { Db, Tx } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';
import { lockUserVersion, nextUserVersion } from '../db/user-version.ts';
import { HttpError, parseInput } from '../http/http-error.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import { AlertLinkToken, isLinkLive } from './alert-link-token.ts';
import { auditAppLink } from './app-link-audit.ts';

/** How often one account may ask for one contact's alerts in a week (taking a request back and asking again counts). */
export const LINK_REQUESTS_PER_CONTACT_PER_WEEK = 3;
/** How long the owner's "decline" keeps that account from asking again for that contact. */
export const DECLINE_HOLDS_DAYS = 30;
/** How many requests one account may have waiting at once, across everyone who lists it. */
export const WAITING_REQUESTS_PER_ACCOUNT = 10;

const DAY_MS = 24 * 3_600_000;

type LinkTarget = {
  user_id: UserId;
  incident_id: string;
  contact_id: string;
  expires_at: Date | string;
  display_name: string | null;
  contact_removed: boolean;
};

type Params = { Params: { token: string } };

/** The contact's link columns, locked for this transaction (after the owner's version counter: one lock order). */
async function lockContact(tx: Tx, link: LinkTarget) {
  await lockUserVersion(tx, link.user_id);
  const [contact] = await tx
    .select({
      linked: emergencyContacts.contactUserId,
      requestedBy: emergencyContacts.appLinkRequestedBy,
      deletedAt: emergencyContacts.deletedAt,
    })
    .from(emergencyContacts)
    .where(eq(emergencyContacts.id, link.contact_id))
    .for('update');
  return contact;
}

export async function registerAppLinkRoutes(
  app: FastifyInstance,
  deps: { db: Db; identity: Identity; pokes: Pokes; now: () => Date },
): Promise<void> {
  const { db, now } = deps;

  const ownerName = (link: LinkTarget) => link.display_name ?? 'The person who alerted you';
  const removed = (link: LinkTarget) =>
    new HttpError(
      404,
      'contact_removed',
      `${ownerName(link)} no longer has this contact, so there is nothing to link.`,
    );

  /** The caller and the contact the link names, or the 4xx that says why not (SPEC AL24). */
  async function resolve(request: FastifyRequest<Params>, options: { expiredToo: boolean }) {
    const caller = callerOf(request);
    const token = parseInput(AlertLinkToken, request.params.token, 'params.token');
    const [link] = await queryRows<
      LinkTarget & { contact_user_id: string | null; requested_by: string | null }
    >(
      db,
      sql`select l.user_id, l.incident_id, l.contact_id, l.expires_at, u.display_name, c.contact_user_id,
            c.app_link_requested_by as requested_by, c.deleted_at is not null as contact_removed
          from alert_links l
          join emergency_contacts c on c.id = l.contact_id
          join users u on u.id = l.user_id
          where l.token = ${token}`,
    );
    if (link === undefined || (!options.expiredToo && !isLinkLive(link, now())))
      throw new HttpError(404, 'not_found', 'This alert link is wrong or has expired.');
    if (link.user_id === caller.userId)
      throw new HttpError(
        409,
        'own_alert_link',
        'This is your own alert link: it is for the contacts you alert, not for your account.',
      );
    if (link.contact_removed) throw removed(link);
    return { caller, link };
  }

  /**
   * Why this account may not ask now (SPEC SE12), or null. Runs under the owner's version lock, so two requests
   * for one owner's contacts are counted one after the other.
   */
  async function requestRefusal(tx: Tx, caller: Caller, link: LinkTarget, at: Date) {
    const weekAgo = new Date(at.getTime() - 7 * DAY_MS).toISOString();
    const declineHorizon = new Date(at.getTime() - DECLINE_HOLDS_DAYS * DAY_MS).toISOString();
    const [history] = await queryRows<{
      asked: number | string;
      first_asked: Date | string | null;
      declined: boolean;
    }>(
      tx,
      sql`select
            count(*) filter (where action = 'contact.app_link_request' and actor_user_id = ${caller.userId}
              and occurred_at > ${weekAgo}::timestamptz) as asked,
            min(occurred_at) filter (where action = 'contact.app_link_request' and actor_user_id = ${caller.userId}
              and occurred_at > ${weekAgo}::timestamptz) as first_asked,
            coalesce(bool_or(action = 'contact.app_link_decline' and metadata ->> 'account' = ${caller.userId}), false)
              as declined
          from activity_logs
          where user_id = ${link.user_id} and target_table = 'emergency_contacts' and target_id = ${link.contact_id}
            and occurred_at > least(${weekAgo}::timestamptz, ${declineHorizon}::timestamptz)
            and action in ('contact.app_link_request', 'contact.app_link_decline')`,
    );
    if (history?.declined === true)
      return new HttpError(
        403,
        'link_request_declined',
        `${ownerName(link)} declined this account's request for these alerts. You keep getting the text ` +
          `messages; ask them in person if you think it was a mistake.`,
      );
    if (Number(history?.asked ?? 0) >= LINK_REQUESTS_PER_CONTACT_PER_WEEK) {
      const firstAsked = new Date(history?.first_asked ?? at).getTime();
      const days = Math.max(1, Math.ceil((firstAsked + 7 * DAY_MS - at.getTime()) / DAY_MS));
      return new HttpError(
        429,
        'too_many_link_requests',
        `This account asked for these alerts ${LINK_REQUESTS_PER_CONTACT_PER_WEEK} times this week. ` +
          `Try again in ${days} day${days === 1 ? '' : 's'}.`,
      );
    }
    const [waiting] = await queryRows<{ count: number | string }>(
      tx,
      sql`select count(*) from emergency_contacts
          where app_link_requested_by = ${caller.userId} and deleted_at is null`,
    );
    if (Number(waiting?.count ?? 0) >= WAITING_REQUESTS_PER_ACCOUNT)
      return new HttpError(
        429,
        'too_many_waiting_requests',
        `This account already has ${WAITING_REQUESTS_PER_ACCOUNT} requests waiting for an answer. ` +
          `Take one back, or wait until they are answered.`,
      );
    return null;
  }

  /** The caller asks for the contact's alerts: the contact's waiting request becomes theirs (SPEC SE10–SE12). */
  async function ask(caller: Caller, link: LinkTarget): Promise<AppLinkAnswer> {
    const at = now();
    return db.transaction(async (tx) => {
      const contact = await lockContact(tx, link);
      // Removed since `resolve` read it: a request for it would be a request for nobody.
      if (contact === undefined || contact.deletedAt !== null) throw removed(link);
      if (contact.linked === caller.userId) return { linked: true, pending: false, name: link.display_name };
      if (contact.requestedBy === caller.userId)
        return { linked: false, pending: true, name: link.display_name };
      if (contact.requestedBy !== null)
        throw new HttpError(
          409,
          'link_request_waiting',
          `${ownerName(link)} has not yet answered another request for these alerts. Ask them to open ` +
            `Contacts in their VitalWatch app and answer it, then try again.`,
        );
      const refusal = await requestRefusal(tx, caller, link, at);
      if (refusal !== null) throw refusal;
      await tx
        .update(emergencyContacts)
        .set({ appLinkRequestedBy: caller.userId, appLinkRequestedAt: at })
        .where(eq(emergencyContacts.id, link.contact_id));
      await auditAppLink(tx, {
        owner: link.user_id,
        actor: caller.userId,
        actorKind: 'contact',
        action: 'contact.app_link_request',
        contactId: link.contact_id,
        account: caller.userId,
        at,
        metadata: { incidentId: link.incident_id },
      });
      return { linked: false, pending: true, name: link.display_name };
    });
  }

  /** The caller takes back its request, or stops getting the alerts (SPEC AL25). */
  async function leave(caller: Caller, link: LinkTarget): Promise<AppLinkAnswer> {
    const at = now();
    const version = await db.transaction(async (tx) => {
      const contact = await lockContact(tx, link);
      const linked = contact?.linked === caller.userId;
      if (!linked && contact?.requestedBy !== caller.userId)
        throw new HttpError(
          404,
          'not_linked',
          'This account does not get these alerts and has not asked for them, so there is nothing to stop.',
        );
      let next: number | null = null;
      if (linked) {
        next = await nextUserVersion(tx, link.user_id);
        await tx
          .update(emergencyContacts)
          .set({ contactUserId: null, version: next, updatedAt: at })
          .where(eq(emergencyContacts.id, link.contact_id));
      } else {
        await tx
          .update(emergencyContacts)
          .set({ appLinkRequestedBy: null, appLinkRequestedAt: null })
          .where(eq(emergencyContacts.id, link.contact_id));
      }
      await auditAppLink(tx, {
        owner: link.user_id,
        actor: caller.userId,
        actorKind: 'contact',
        action: linked ? 'contact.app_unlink' : 'contact.app_link_withdraw',
        contactId: link.contact_id,
        account: caller.userId,
        at,
        metadata: { incidentId: link.incident_id },
      });
      return next;
    });
    if (version !== null) deps.pokes.publish(link.user_id, version);
    return { linked: false, pending: false, name: link.display_name };
  }

  const authenticated = { onRequest: authenticateFirst(deps.identity) };
  app.get<Params>('/api/v1/alert-links/:token/link', authenticated, async (request) => {
    const { caller, link } = await resolve(request, { expiredToo: false });
    return {
      linked: link.contact_user_id === caller.userId,
      pending: link.requested_by === caller.userId,
      name: link.display_name,
    } satisfies AppLinkAnswer;
  });

  app.post<Params>('/api/v1/alert-links/:token/link', authenticated, async (request) => {
    const { caller, link } = await resolve(request, { expiredToo: false });
    return ask(caller, link);
  });

  app.delete<Params>('/api/v1/alert-links/:token/link', authenticated, async (request) => {
    const { caller, link } = await resolve(request, { expiredToo: true });
    return leave(caller, link);
  });
}
