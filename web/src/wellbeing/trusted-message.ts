/**
 * "Message someone I trust" (SPEC WB26): a text the user edits and sends from their own messages app. The app
 * only opens the composer (`sms:`), for one person at a time; it never sends anything itself.
 */
import { smsUri } from '../sos/sos-sms.ts';

/** GSM-7 only (no curly quotes or dashes), so it stays one SMS segment. */
export const DEFAULT_TRUSTED_MESSAGE =
  "I'm having a really hard time right now. Could you call or text me when you can?";

export function trustedMessageUri(phoneE164: string, text: string, ios: boolean): string {
  return smsUri(phoneE164, text.trim() === '' ? DEFAULT_TRUSTED_MESSAGE : text, { ios });
}
