/**
 * Every change to a contact's app link is written to the owner's audit log (`activity_logs`), whoever made it:
 * the account asking through an alert link (actor kind `contact`) or the owner answering (`user`). The requests an
 * account made, and the owner's refusals of it, are read back from this log to limit new requests (SPEC SE12).
 */
import { activityLogs } from '@vitalwatch/schema/db/tables';
import type { UserId } from '@vitalwatch/schema/ids';
import type { Tx } from '../db/database.ts';

export type AppLinkAction =
  /** An account asked, from an alert link, to get the contact's alerts in the app. */
  | 'contact.app_link_request'
  /** The asking account took its request back. */
  | 'contact.app_link_withdraw'
  /** The linked account stopped getting the alerts itself. */
  | 'contact.app_unlink'
  | 'contact.app_link_approve'
  | 'contact.app_link_decline'
  /** The owner took the alerts away from the linked account. */
  | 'contact.app_link_remove';

export async function auditAppLink(
  tx: Tx,
  entry: {
    owner: UserId;
    actor: UserId;
    actorKind: 'user' | 'contact';
    action: AppLinkAction;
    contactId: string;
    /** The account the change is about (the one asking, linked, approved, declined or removed). */
    account: UserId;
    at: Date;
    metadata?: Record<string, unknown>;
  },
): Promise<void> {
  await tx.insert(activityLogs).values({
    userId: entry.owner,
    actorUserId: entry.actor,
    actorKind: entry.actorKind,
    action: entry.action,
    targetTable: 'emergency_contacts',
    targetId: entry.contactId,
    metadata: { account: entry.account, ...entry.metadata },
    occurredAt: entry.at,
  });
}
