/**
 * Observed reach for a contact who uses the app (issue #14 item 1), in real Chromium against the real server on
 * Postgres. Ama acts over HTTP as her device would; Kofi, her contact, linked his own account (the real request
 * and approval routes) and has the app open.
 *
 * - Realtime: Kofi's app is open on the mood screen when Ama's SOS arrives. The alert must appear on his screen
 *   (whatever screen is open) with its alarm, and Ama's ledger says `sent` (not observed) until Kofi's app has
 *   posted its receipt, `shown` (observed) after. The receipt is held in a route to see the order.
 * - Web Push: Chromium cannot subscribe here (push.browser.test.ts says why), so Kofi's subscription is one at the
 *   local push service of the server tests (it checks VAPID and decrypts); the message the server sent is handed
 *   to Kofi's real service worker through CDP `ServiceWorker.deliverPushMessage`, and the worker's receipt must
 *   turn Ama's ledger row `shown`.
 *
 * With `E2E_SCREENSHOTS=<dir>` the test saves Kofi's screen with the alert at 360×640.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { newId } from '../schema/src/ids.ts';
import { ALERT_RECEIPTS_PATH } from '../schema/src/protocol/alert-receipt.ts';
import { isObservedReach } from '../schema/src/protocol/alert-status.ts';
import { contactAppLinkPath } from '../schema/src/protocol/contact-app-links.ts';
import { AlertLogRow } from '../schema/src/protocol/rows.ts';
import { startTestPushService, type TestPushService } from '../sync-server/test/push-endpoint.ts';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { accountNamed, api, type HttpAccount } from './harness/http-accounts.ts';
import { shapeRequests } from './harness/network.ts';
import { deliverPushMessage, openControlledPage } from './harness/service-worker.ts';
import { signInInApp } from './harness/app-account.ts';

const e2e = useBrowserSuite({
  buildId: 'alert-receipts',
  database: 'postgres',
  // The alarm is Web Audio: let it start without a gesture, as an installed app with engagement may.
  chromiumArgs: ['--autoplay-policy=no-user-gesture-required'],
  contextOptions: { viewport: { width: 360, height: 640 } },
});
let pushService: TestPushService;

beforeAll(async () => {
  pushService = await startTestPushService();
  // PUBLIC_URL is the server's own origin, so alerts carry their `/a/<token>` page; known once it has started.
  await e2e.server.restart({ env: { PUBLIC_URL: e2e.server.url } });
});
afterAll(async () => {
  await pushService.close();
});

const url = () => e2e.server.url;

async function waitFor<T>(what: string, read: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

async function triggerSos(ama: HttpAccount, code: string): Promise<string> {
  const id = newId<string>();
  await ama.push('critical', 'incident.trigger@1', {
    id,
    code,
    trigger: 'panic_button',
    triggeredAt: Date.now(),
  });
  return id;
}

/** Ama with Kofi as a tier-1 contact whose own account gets her alerts (asked from an alert link, approved). */
async function amaWithLinkedKofi() {
  const ama = await accountNamed(url(), 'Ama');
  const kofi = await accountNamed(url(), 'Kofi');
  const contactId = newId<string>();
  await ama.push('user', 'contact.upsert@1', {
    id: contactId,
    fields: { name: 'Kofi', tier: 1 },
    phoneE164: '+447700900123',
    expectedPhoneE164: null,
  });
  const first = await triggerSos(ama, 'K7Q2');
  const link = await waitFor('Kofi’s alert link', async () => {
    const [row] = await e2e.server.queryPostgres<{ token: string }>(
      'select token from alert_links where contact_id = $1',
      [contactId],
    );
    return row;
  });
  await api(url(), `/api/v1/alert-links/${link.token}/link`, { method: 'POST', token: kofi.token });
  const [kofiRow] = await e2e.server.queryPostgres<{ id: string }>('select id from users where email = $1', [
    kofi.email,
  ]);
  await api(url(), contactAppLinkPath(contactId, 'approve'), {
    method: 'POST',
    token: ama.token,
    body: { account: kofiRow!.id },
  });
  await ama.push('critical', 'incident.event@1', {
    id: newId<string>(),
    incidentId: first,
    type: 'resolved',
    at: Date.now(),
  });
  return { ama, kofi, kofiId: kofiRow!.id, contactId };
}

/** Ama's ledger row for Kofi's alert on `channel`, as her device pulls it. */
async function pulledRow(ama: HttpAccount, incidentId: string, channel: string) {
  const rows = [...((await ama.pullRows()).get('alert_logs')?.values() ?? [])].map((row) =>
    AlertLogRow.parse(row),
  );
  return rows.find((r) => r.incidentId === incidentId && r.channel === channel && r.messageKind === 'alert');
}

async function ledgerStatus(incidentId: string, channel: string): Promise<string | undefined> {
  const [row] = await e2e.server.queryPostgres<{ status: string }>(
    `select status from alert_logs where incident_id = $1 and channel = $2 and message_kind = 'alert'`,
    [incidentId, channel],
  );
  return row?.status;
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.E2E_SCREENSHOTS;
  if (dir !== undefined && dir !== '') await page.screenshot({ path: path.join(dir, `${name}.png`) });
}

it('[AL32][SO30] Kofi’s open app shows Ama’s SOS on screen with its alarm, on the mood screen; Ama’s ledger says observed only after his app’s receipt', async () => {
  const { ama, kofi } = await amaWithLinkedKofi();
  const receipts = await shapeRequests(e2e.context, { match: ALERT_RECEIPTS_PATH, hold: true });
  const page = await e2e.context.newPage();
  await signInInApp(page, kofi.email);
  const stream = page.waitForResponse((r) => r.url().endsWith('/sync/events') && r.status() === 200);
  await page.goto('/#/mood');
  await page.reload();
  await stream;
  await page.getByRole('heading', { name: /mood/i }).first().waitFor();

  const incidentId = await triggerSos(ama, 'B8K2');
  const alert = page.getByRole('alertdialog', { name: 'SOS: Ama needs help' });
  await alert.waitFor({ timeout: 10_000 });
  await expect(alert.textContent()).resolves.toContain('Ama');
  await alert.getByText('If they may be in danger, call the local emergency number.').waitFor();
  await alert.getByRole('link', { name: 'Open the alert: answer, see the location' }).waitFor();
  await expect(page.locator('.incoming-alerts').getAttribute('data-sound')).resolves.toBe('playing');
  // The alert sits on top of the screen that was open: the mood screen is still there beneath it.
  expect(page.url()).toContain('#/mood');
  const box = await alert.boundingBox();
  expect(box!.y).toBeLessThan(640);
  expect(box!.x + box!.width).toBeLessThanOrEqual(360);
  await screenshot(page, 'incoming-alert-360x640');

  // On screen, receipt held: the ledger says the event went to his open app, and nothing was observed yet.
  await waitFor('the receipt request', async () => (receipts.requests.length > 0 ? true : undefined));
  expect(await ledgerStatus(incidentId, 'realtime')).toBe('sent');
  const before = await pulledRow(ama, incidentId, 'realtime');
  expect(before?.status).toBe('sent');
  expect(isObservedReach(before!)).toBe(false);

  receipts.release();
  await waitFor('the realtime row shown', async () =>
    (await ledgerStatus(incidentId, 'realtime')) === 'shown' ? true : undefined,
  );
  const after = await pulledRow(ama, incidentId, 'realtime');
  expect(after?.status).toBe('shown');
  expect(isObservedReach(after!)).toBe(true);
  expect(receipts.requests.every((r) => !r.fromServiceWorker)).toBe(true);

  await alert.getByRole('button', { name: 'Stop alarm' }).click();
  await expect(page.locator('.incoming-alerts').getAttribute('data-sound')).resolves.toBe('off');
  await alert.getByRole('button', { name: 'Close' }).click();
  await expect(alert.count()).resolves.toBe(0);
  await receipts.remove();
});

it('[AL31] Web Push: Kofi’s service worker shows the notification the server sent and reports it; Ama’s ledger turns from `sent` to `shown`', async () => {
  const { ama, kofiId } = await amaWithLinkedKofi();
  const vapid = (await api(url(), '/push/vapid-public-key', { method: 'GET' })) as { publicKey?: string };
  const vapidKey = typeof vapid === 'object' && vapid !== null ? vapid.publicKey : undefined;
  if (typeof vapidKey !== 'string') throw new Error(`no VAPID key: ${JSON.stringify(vapid)}`);
  const browser = pushService.subscribe({ applicationServerKey: vapidKey });
  await e2e.server.queryPostgres(
    'insert into push_subscriptions (user_id, endpoint, p256dh, auth) values ($1, $2, $3, $4)',
    [kofiId, browser.endpoint, browser.keys.p256dh, browser.keys.auth],
  );

  await e2e.context.grantPermissions(['notifications']);
  const page = await openControlledPage(e2e.context);
  const origin = new URL(page.url()).origin;
  // Kofi's app is not open (no session): only the notification can reach him.
  const incidentId = await triggerSos(ama, 'C9D4');
  const message = await waitFor('the pushed alert', async () =>
    pushService.received.find(
      (m) =>
        m.endpoint === browser.endpoint &&
        JSON.stringify(m.payload).includes(incidentId) &&
        JSON.stringify(m.payload).includes('"kind":"alert"'),
    ),
  );
  // The push service's 201 is recorded a moment later (the dispatcher records answers in groups).
  await waitFor('the web push row sent', async () =>
    (await ledgerStatus(incidentId, 'web_push')) === 'sent' ? true : undefined,
  );
  expect(isObservedReach((await pulledRow(ama, incidentId, 'web_push'))!)).toBe(false);

  await deliverPushMessage(e2e.context, origin, JSON.stringify(message.payload));
  await waitFor('the web push row shown', async () =>
    (await ledgerStatus(incidentId, 'web_push')) === 'shown' ? true : undefined,
  );
  const [worker] = e2e.context.serviceWorkers();
  const titles = await worker!.evaluate(async () => {
    const { registration } = globalThis as unknown as { registration: ServiceWorkerRegistration };
    return (await registration.getNotifications()).map((n) => n.title);
  });
  expect(titles).toContain('SOS: Ama needs help');
  expect(isObservedReach((await pulledRow(ama, incidentId, 'web_push'))!)).toBe(true);
});
