/**
 * A contact links their own VitalWatch account to the contact entry that alerted them (issue #5, SPEC AL23–AL27),
 * so the dispatcher sends them Web Push and realtime alerts too (`emergency_contacts.contact_user_id`). The proof
 * is the alert link itself: its token went only to that contact's phone, and only a live link counts.
 *
 * - `GET /api/v1/alert-links/:token/link` → `{ linked, name }`: whose alerts these are and whether the caller
 *   already gets them (the app's `#/link/<token>` screen asks before offering the button).
 * - `POST` → `{ linked: true, name }`: the contact's `contact_user_id` becomes the caller. Again by the same
 *   account changes nothing; by another account replaces it: the newest holder of the link wins, and the owner
 *   sees who gets alerts in the app on the contacts screen (pull's `appLinked`), never which account.
 * - `DELETE` → `{ linked: false, name }`: the linked account stops getting them, also after the link expired
 *   (it proves itself by being the linked account, not by the link); any other caller gets 404 `not_linked`.
 *
 * Every change takes the owner's next version in the same transaction, is recorded in the owner's
 * `activity_logs` (actor kind `contact`, the acting account as actor), and pokes the owner's devices. Linking
 * while the incident is still open wakes the dispatcher, so the new account also gets that alert.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { eq, sql } from 'drizzle-orm';
import { activityLogs, emergencyContacts } from '@vitalwatch/schema/db/tables';
import type { UserId } from '@vitalwatch/schema/ids';
import type { AppLinkAnswer } from '@vitalwatch/schema/protocol/app-link';
import type { Caller, Identity } from '../auth/identity.ts';
import { authenticateFirst, callerOf } from '../http/authenticate-first.ts';
import type { Db } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';
import { lockUserVersion, nextUserVersion } from '../db/user-version.ts';
import { HttpError, parseInput } from '../http/http-error.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import { AlertLinkToken, isLinkLive } from './alert-link-token.ts';

type LinkTarget = {
  user_id: UserId;
  incident_id: string;
  contact_id: string;
  expires_at: Date | string;
  display_name: string | null;
  contact_user_id: string | null;
  contact_removed: boolean;
};

type Params = { Params: { token: string } };

export async function registerAppLinkRoutes(
  app: FastifyInstance,
  deps: {
    db: Db;
    identity: Identity;
    pokes: Pokes;
    now: () => Date;
    onChange?: (incidentId: string) => void;
  },
): Promise<void> {
  const { db, now } = deps;

  const removed = (link: LinkTarget) =>
    new HttpError(
      404,
      'contact_removed',
      `${link.display_name ?? 'The user'} no longer has this contact, so there is nothing to link.`,
    );

  /** The caller and the contact the link names, or the 4xx that says why not (SPEC AL24). */
  async function resolve(request: FastifyRequest<Params>, options: { expiredToo: boolean }) {
    const caller = callerOf(request);
    const token = parseInput(AlertLinkToken, request.params.token, 'params.token');
    const [link] = await queryRows<LinkTarget>(
      db,
      sql`select l.user_id, l.incident_id, l.contact_id, l.expires_at, u.display_name, c.contact_user_id,
            c.deleted_at is not null as contact_removed
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
   * Sets the contact's linked account to `to` (null = unlink, only by the linked account itself); returns the
   * owner's new version, or null when nothing changed.
   */
  async function setLinkedAccount(caller: Caller, link: LinkTarget, to: UserId | null) {
    const at = now();
    const version = await db.transaction(async (tx) => {
      // The owner's counter first, like every writer of the owner's rows, then the contact row: one lock order.
      await lockUserVersion(tx, link.user_id);
      const [contact] = await tx
        .select({ linked: emergencyContacts.contactUserId, deletedAt: emergencyContacts.deletedAt })
        .from(emergencyContacts)
        .where(eq(emergencyContacts.id, link.contact_id))
        .for('update');
      // Removed since `resolve` read it: linking it now would be a link to nobody.
      if (to !== null && (contact === undefined || contact.deletedAt !== null)) throw removed(link);
      const current = contact?.linked ?? null;
      if (to === null && current !== caller.userId)
        throw new HttpError(
          404,
          'not_linked',
          'This account does not get these alerts, so there is nothing to stop.',
        );
      if (current === to) return null;
      const next = await nextUserVersion(tx, link.user_id);
      await tx
        .update(emergencyContacts)
        .set({ contactUserId: to, version: next, updatedAt: at })
        .where(eq(emergencyContacts.id, link.contact_id));
      await tx.insert(activityLogs).values({
        userId: link.user_id,
        actorUserId: caller.userId,
        actorKind: 'contact',
        action: to === null ? 'contact.app_unlink' : 'contact.app_link',
        targetTable: 'emergency_contacts',
        targetId: link.contact_id,
        metadata: { incidentId: link.incident_id, replacedAnotherAccount: to !== null && current !== null },
        occurredAt: at,
      });
      return next;
    });
    if (version !== null) {
      deps.pokes.publish(link.user_id, version);
      deps.onChange?.(link.incident_id);
    }
  }

  const answer = (link: LinkTarget, linked: boolean): AppLinkAnswer => ({ linked, name: link.display_name });

  const authenticated = { onRequest: authenticateFirst(deps.identity) };
  app.get<Params>('/api/v1/alert-links/:token/link', authenticated, async (request) => {
    const { caller, link } = await resolve(request, { expiredToo: false });
    return answer(link, link.contact_user_id === caller.userId);
  });

  app.post<Params>('/api/v1/alert-links/:token/link', authenticated, async (request) => {
    const { caller, link } = await resolve(request, { expiredToo: false });
    await setLinkedAccount(caller, link, caller.userId);
    return answer(link, true);
  });

  app.delete<Params>('/api/v1/alert-links/:token/link', authenticated, async (request) => {
    const { caller, link } = await resolve(request, { expiredToo: true });
    await setLinkedAccount(caller, link, null);
    return answer(link, false);
  });
}
