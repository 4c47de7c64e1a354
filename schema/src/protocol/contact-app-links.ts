/**
 * The owner's side of app links (issue #13, SPEC SE10–SE16): which account gets each contact's alerts in the app,
 * which account asks to, and the owner's answers. Sent by sync-server/src/alerts/contact-app-link-routes.ts, read
 * by the app's contacts screen. An HTTP API beside the sync protocol (no PROTOCOL_VERSION): the app parses answers
 * loosely, so a newer server may add fields; the server parses request bodies strictly.
 *
 * - `GET /api/v1/contact-app-links` → `ContactAppLinks`: every live contact of the caller that is linked or asked for.
 * - `POST /api/v1/contact-app-links/<contact id>/approve` and `…/decline`, body `AppLinkDecision`: answer the request
 *   of that account (the one the owner saw; another account's request is not answered by mistake).
 * - `DELETE /api/v1/contact-app-links/<contact id>`, body `AppLinkDecision`: that account stops getting the alerts.
 *
 * Each answers the contact's new `ContactAppLink`.
 */
import * as z from 'zod/mini';
import { EpochMs, Uuid } from './common.ts';

/** An account as the server knows it: what the owner can recognise it by. */
export const LinkAccount = z.object({
  id: z.string(),
  /** The name the account gave itself (its profile); anyone can choose any name, so it is shown with the login. */
  name: z.nullable(z.string()),
  /** The login: an email address or a phone number (E.164). */
  email: z.nullable(z.string()),
  phone: z.nullable(z.string()),
});
export type LinkAccount = z.infer<typeof LinkAccount>;

export const ContactAppLink = z.object({
  contactId: z.string(),
  /** The account that gets this contact's alerts in the app (approved by the owner), or null. */
  linked: z.nullable(LinkAccount),
  /** The account that asked to get them and waits for the owner's answer, or null. */
  request: z.nullable(z.object({ account: LinkAccount, requestedAt: EpochMs })),
});
export type ContactAppLink = z.infer<typeof ContactAppLink>;

export const ContactAppLinks = z.object({ contacts: z.array(ContactAppLink) });
export type ContactAppLinks = z.infer<typeof ContactAppLinks>;

/** The body of an owner's answer: the account it is about. */
export const AppLinkDecision = z.strictObject({ account: Uuid });
export type AppLinkDecision = z.infer<typeof AppLinkDecision>;

export const CONTACT_APP_LINKS_PATH = '/api/v1/contact-app-links';

/** The path of one contact's app link, or of an answer to its request. */
export function contactAppLinkPath(contactId: string, answer?: 'approve' | 'decline'): string {
  const base = `${CONTACT_APP_LINKS_PATH}/${encodeURIComponent(contactId)}`;
  return answer === undefined ? base : `${base}/${answer}`;
}
