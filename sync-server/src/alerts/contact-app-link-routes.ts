/**
 * The owner's side of app links (issue #13, SPEC SE10–SE16): the contacts screen asks which account gets each
 * contact's alerts in the app and which account asks to, and the owner approves, declines or removes. The paths and
 * shapes are in `@vitalwatch/schema/protocol/contact-app-links`.
 *
 * Why REST and not the sync pull: what the owner must see is another account's name and login, which is not the
 * owner's row and changes without the owner's version; and an answer must reach the server before it means
 * anything (an approval queued offline would look done while alerts still do not reach that account). The pull
 * keeps carrying only `appLinked` (AL26), which an approval or removal changes with the owner's next version.
 *
 * The owner's rows are read and written through `withUser`, so row-level security (not this code) keeps an account
 * from reading or answering for another owner's contacts: the requester cannot approve their own request, since the
 * contact is not theirs. The accounts' names and logins are read outside it (`users` rows are their owners' own) for
 * exactly the ids the owner's contacts name.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as z from 'zod/mini';
import { and, eq, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import { emergencyContacts, emergencyIncidents, users } from '@vitalwatch/schema/db/tables';
import type { UserId } from '@vitalwatch/schema/ids';
import { Uuid } from '@vitalwatch/schema/protocol/common';
import {
  AppLinkDecision,
  CONTACT_APP_LINKS_PATH,
  type ContactAppLink,
  type ContactAppLinks,
  type LinkAccount,
} from '@vitalwatch/schema/protocol/contact-app-links';
import type { Caller, Identity } from '../auth/identity.ts';
import { authenticateFirst, callerOf } from '../http/authenticate-first.ts';
import type { Db, Tx } from '../db/database.ts';
import { lockUserVersion, nextUserVersion } from '../db/user-version.ts';
import { withUser } from '../db/with-user.ts';
import { HttpError, parseInput } from '../http/http-error.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import { auditAppLink } from './app-link-audit.ts';

type LinkColumns = {
  id: string;
  linked: string | null;
  requestedBy: string | null;
  requestedAt: Date | null;
};

type Decision = 'approve' | 'decline' | 'remove';

const ContactParams = z.strictObject({ contactId: Uuid });

const linkColumns = {
  id: emergencyContacts.id,
  linked: emergencyContacts.contactUserId,
  requestedBy: emergencyContacts.appLinkRequestedBy,
  requestedAt: emergencyContacts.appLinkRequestedAt,
};

/** Name and login of each account, read for ids taken from the owner's own contacts only. */
async function loadAccounts(db: Db, ids: Iterable<string | null>): Promise<Map<string, LinkAccount>> {
  const wanted = [...new Set([...ids].filter((id): id is string => id !== null))];
  if (wanted.length === 0) return new Map();
  const rows = await db
    .select({ id: users.id, name: users.displayName, email: users.email, phone: users.phone })
    .from(users)
    .where(inArray(users.id, wanted));
  return new Map(rows.map((row) => [row.id, row]));
}

/** An account deleted since it was named (the foreign key clears the column, so only a race shows this). */
const goneAccount = (id: string): LinkAccount => ({ id, name: null, email: null, phone: null });

function contactAppLink(row: LinkColumns, accounts: Map<string, LinkAccount>): ContactAppLink {
  const account = (id: string) => accounts.get(id) ?? goneAccount(id);
  return {
    contactId: row.id,
    linked: row.linked === null ? null : account(row.linked),
    request:
      row.requestedBy === null
        ? null
        : { account: account(row.requestedBy), requestedAt: (row.requestedAt ?? new Date(0)).getTime() },
  };
}

export async function registerContactAppLinkRoutes(
  app: FastifyInstance,
  deps: {
    db: Db;
    identity: Identity;
    pokes: Pokes;
    now: () => Date;
    /** Wakes the dispatcher for an open incident, so a newly approved account gets its alert too. */
    onChange?: (incidentId: string) => void;
  },
): Promise<void> {
  const { db, now } = deps;

  const changed = (message: string) =>
    new HttpError(409, 'app_link_changed', `${message} Your contacts list now shows what is current.`);

  /** Applies one answer of the owner to one of their contacts, under RLS; null when the contact is not theirs. */
  async function decide(
    tx: Tx,
    caller: Caller,
    contactId: string,
    decision: Decision,
    account: UserId,
    at: Date,
  ): Promise<{ row: LinkColumns; version: number | null; openIncidents: string[] }> {
    // The owner's counter first, like every writer of the owner's rows, then the contact row: one lock order.
    await lockUserVersion(tx, caller.userId);
    const [contact] = await tx
      .select(linkColumns)
      .from(emergencyContacts)
      .where(and(eq(emergencyContacts.id, contactId), isNull(emergencyContacts.deletedAt)))
      .for('update');
    if (contact === undefined)
      throw new HttpError(
        404,
        'contact_not_found',
        'You have no such contact: it may have been deleted, on this or another device.',
      );
    if (decision !== 'remove' && contact.requestedBy !== account)
      throw changed(
        'This account no longer waits for an answer: it took its request back, or it was answered.',
      );
    if (decision === 'remove' && contact.linked !== account)
      throw changed('This account no longer gets these alerts.');

    const linksChange = decision !== 'decline';
    const version = linksChange ? await nextUserVersion(tx, caller.userId) : null;
    const [row] = await tx
      .update(emergencyContacts)
      .set({
        ...(decision !== 'remove' && { appLinkRequestedBy: null, appLinkRequestedAt: null }),
        ...(decision === 'approve' && { contactUserId: account }),
        ...(decision === 'remove' && { contactUserId: null }),
        ...(version !== null && { version, updatedAt: at }),
      })
      .where(eq(emergencyContacts.id, contactId))
      .returning(linkColumns);
    if (row === undefined) throw new Error('a locked contact vanished inside its own transaction');
    await auditAppLink(tx, {
      owner: caller.userId,
      actor: caller.userId,
      actorKind: 'user',
      action:
        decision === 'approve'
          ? 'contact.app_link_approve'
          : decision === 'decline'
            ? 'contact.app_link_decline'
            : 'contact.app_link_remove',
      contactId,
      account,
      at,
      ...(decision === 'approve' && { metadata: { replaced: contact.linked } }),
    });
    const openIncidents =
      decision === 'approve'
        ? (
            await tx
              .select({ id: emergencyIncidents.id })
              .from(emergencyIncidents)
              .where(
                and(
                  eq(emergencyIncidents.userId, caller.userId),
                  sql`${emergencyIncidents.status} in ('active', 'acknowledged')`,
                ),
              )
          ).map((incident) => incident.id)
        : [];
    return { row, version, openIncidents };
  }

  const authenticated = { onRequest: authenticateFirst(deps.identity) };
  app.get(CONTACT_APP_LINKS_PATH, authenticated, async (request): Promise<ContactAppLinks> => {
    const caller = callerOf(request);
    const rows = await withUser(db, caller.claims, (tx) =>
      tx
        .select(linkColumns)
        .from(emergencyContacts)
        .where(
          and(
            eq(emergencyContacts.userId, caller.userId),
            isNull(emergencyContacts.deletedAt),
            or(isNotNull(emergencyContacts.contactUserId), isNotNull(emergencyContacts.appLinkRequestedBy)),
          ),
        ),
    );
    const accounts = await loadAccounts(
      db,
      rows.flatMap((row) => [row.linked, row.requestedBy]),
    );
    return { contacts: rows.map((row) => contactAppLink(row, accounts)) };
  });

  const answer = (decision: Decision) => async (request: FastifyRequest) => {
    const caller = callerOf(request);
    const { contactId } = parseInput(ContactParams, request.params, 'params');
    const { account } = parseInput(AppLinkDecision, request.body, 'body');
    const outcome = await withUser(db, caller.claims, (tx) =>
      decide(tx, caller, contactId, decision, account as UserId, now()),
    );
    if (outcome.version !== null) deps.pokes.publish(caller.userId, outcome.version);
    for (const incidentId of outcome.openIncidents) deps.onChange?.(incidentId);
    const accounts = await loadAccounts(db, [outcome.row.linked, outcome.row.requestedBy]);
    return contactAppLink(outcome.row, accounts);
  };

  app.post(`${CONTACT_APP_LINKS_PATH}/:contactId/approve`, authenticated, answer('approve'));
  app.post(`${CONTACT_APP_LINKS_PATH}/:contactId/decline`, authenticated, answer('decline'));
  app.delete(`${CONTACT_APP_LINKS_PATH}/:contactId`, authenticated, answer('remove'));
}
