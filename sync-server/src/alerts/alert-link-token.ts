/**
 * The token of an alert link as the `/a/<token>` page and the app-link routes read it from a URL. A link is live
 * until `expires_at`; after that both answer as if it never existed.
 */
import { z } from 'zod';
import { ALERT_LINK_TOKEN_PATTERN } from '@vitalwatch/schema/protocol/app-link';

export const AlertLinkToken = z.string().regex(ALERT_LINK_TOKEN_PATTERN, 'is not an alert link');

export function isLinkLive(link: { expires_at: Date | string }, now: Date): boolean {
  return new Date(link.expires_at).getTime() >= now.getTime();
}
