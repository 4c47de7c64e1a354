/**
 * A browser suite whose server sends SMS through the Twilio stand-in (sync-server/test/fake-twilio.ts over HTTP).
 * PUBLIC_URL must be the server's own origin (Twilio signs over it, and the status callback points at it), and the
 * port is known only once the suite has started the server: so it is restarted with Twilio configured. Also keeps
 * `sms:`/`tel:` links in the page: headless Chromium hands them to the desktop, after which clicks may be lost.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startFakeTwilio, type FakeTwilio } from '../../sync-server/test/fake-twilio.ts';
import type { BrowserSuite } from './browser-suite.ts';

/** The number the server texts from. */
export const TWILIO_FROM = '+15005550006';

/**
 * An init script that keeps `sms:`/`tel:` links in the page (the app's own click handlers still run): headless
 * Chromium hands them to the desktop, after which clicks may be lost.
 */
export const KEEP_SMS_LINKS_IN_PAGE = `document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[href^="sms:"], a[href^="tel:"]') : null;
  if (link !== null) event.preventDefault();
}, true);`;

/** The server environment that makes it text through `fake`; `serverUrl` is its own origin (PUBLIC_URL). */
export function twilioServerEnv(fake: FakeTwilio, serverUrl: string): Record<string, string> {
  return {
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_FROM,
    TWILIO_API_URL: fake.url,
    PUBLIC_URL: serverUrl,
  };
}

export function useTwilioOnServer(e2e: BrowserSuite): () => FakeTwilio {
  let fake: FakeTwilio | undefined;
  beforeAll(async () => {
    fake = await startFakeTwilio();
    await e2e.server.restart({ env: twilioServerEnv(fake, e2e.server.url) });
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(async () => {
    await e2e.context.addInitScript({ content: KEEP_SMS_LINKS_IN_PAGE });
  });
  return () => {
    if (fake === undefined) throw new Error('the Twilio stand-in starts in beforeAll');
    return fake;
  };
}
