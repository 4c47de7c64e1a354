/**
 * The answer of the app-link API (issue #5, SPEC AL23; approval by the owner: issue #13, SE10):
 * `GET | POST | DELETE /api/v1/alert-links/<token>/link`, sent by sync-server/src/alerts/app-link-routes.ts and
 * read by the app's `#/link/<token>` screen. An HTTP API beside the sync protocol, not part of it (no
 * PROTOCOL_VERSION): the app parses it loosely, so a newer server may add fields.
 */
import * as z from 'zod/mini';

export const AppLinkAnswer = z.object({
  /** Whether the calling account gets the alerts: only once the owner approved it (after DELETE: false). */
  linked: z.boolean(),
  /**
   * Whether the calling account's request waits for the owner's approval (after POST, unless already linked).
   * Absent from servers before issue #13, which linked at once.
   */
  pending: z.optional(z.boolean()),
  /** The alerting user's display name; null when they set none. */
  name: z.nullable(z.string()),
});
export type AppLinkAnswer = z.infer<typeof AppLinkAnswer>;

/** An alert link's token (`alert_links.token`: 96 random bits, base64url), as `/a/<token>` and `#/link/<token>` carry it. */
export const ALERT_LINK_TOKEN_PATTERN = /^[A-Za-z0-9_-]{16}$/;

/** The API path for one alert link's token. */
export function appLinkPath(token: string): string {
  return `/api/v1/alert-links/${encodeURIComponent(token)}/link`;
}
