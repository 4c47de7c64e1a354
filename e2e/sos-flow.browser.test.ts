/**
 * The SOS flow end to end (issue #4 item 6) in real Chromium against the real server on a fresh Postgres
 * database: a contact added with no account, an SOS triggered offline with the SMS fallback, the incident kept in
 * IndexedDB, then sign-in and sync bring it to Postgres exactly once: through the page's own loop, and through
 * the service worker's Background Sync event with no page of the app open.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { useBrowserSuite } from './harness/browser-suite.ts';
import {
  openControlledPage,
  dispatchSyncEvent,
  waitForServiceWorkerActive,
} from './harness/service-worker.ts';
import { readIndexedDb } from './harness/indexed-db.ts';
import { signUpInApp, TEST_PASSWORD } from './harness/app-account.ts';
import { isGsm7, SOS_SMS_MAX_CHARS } from '../schema/src/sms/gsm7.ts';

const LONDON = { latitude: 51.507351, longitude: -0.127758, accuracy: 20 };

const e2e = useBrowserSuite({
  database: 'postgres',
  contextOptions: { geolocation: LONDON, permissions: ['geolocation'], locale: 'en-GB' },
});

/**
 * Headless Chromium hands an `sms:` link to the desktop's protocol handler, after which clicks on the page are
 * sometimes lost. The app's own click handlers still run; only the hand-off to another app is prevented.
 */
const KEEP_SMS_LINKS_IN_PAGE = `window.vwOpenedLinks = [];
document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[href^="sms:"], a[href^="tel:"]') : null;
  if (link === null) return;
  event.preventDefault();
  window.vwOpenedLinks.push({ href: link.getAttribute('href'), byUser: event.isTrusted });
}, true);`;

/** The sms:/tel: links the page opened, by the user's tap (`byUser`) or by itself. */
function openedLinks(page: Page): Promise<Array<{ href: string; byUser: boolean }>> {
  return page.evaluate(
    () => (window as unknown as { vwOpenedLinks: Array<{ href: string; byUser: boolean }> }).vwOpenedLinks,
  );
}

beforeEach(async () => {
  await e2e.context.addInitScript({ content: KEEP_SMS_LINKS_IN_PAGE });
});

// Every flow here runs under the server's Content-Security-Policy (SPEC SE35): nothing it needs may be blocked.
afterEach(() => {
  expect(e2e.cspViolations()).toEqual([]);
});

interface LocalIncident {
  id: string;
  code: string;
  status: string;
  latitude: number | null;
  longitude: number | null;
}

async function addContact(page: Page, name: string, phone: string): Promise<void> {
  await page.getByRole('link', { name: 'Contacts' }).click();
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Phone').fill(phone);
  await page.getByRole('button', { name: 'Save contact' }).click();
  await page.getByRole('listitem').filter({ hasText: 'Mum +447911123456 · tier 1' }).waitFor();
  await page.getByRole('link', { name: 'VitalWatch' }).click();
}

async function incidentsInPostgres(id: string): Promise<number> {
  const rows = await e2e.server.queryPostgres<{ n: number }>(
    'select count(*)::int as n from emergency_incidents where id = $1',
    [id],
  );
  return rows[0]?.n ?? -1;
}

async function triggerOfflineSos(context: BrowserContext, page: Page): Promise<LocalIncident> {
  await context.setOffline(true);
  await page.getByRole('button', { name: /SOS/ }).click();
  await page.getByRole('timer', { name: 'SOS countdown' }).waitFor();
  // The countdown runs out by itself (default 5 s).
  await page.getByRole('heading', { name: /SOS [A-Z0-9]{4} is open/ }).waitFor({ timeout: 10_000 });
  const incidents = await readIndexedDb<LocalIncident>(page, 'emergency_incidents');
  expect(incidents).toHaveLength(1);
  const [incident] = incidents;
  if (incident === undefined) throw new Error('no incident');
  return incident;
}

it('[SE35] the app runs under its Content-Security-Policy: every screen and sign-in work, an injected inline script does not run', async () => {
  const { context } = e2e;
  const page = await context.newPage();
  const response = await page.goto('/');
  expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
  expect(response?.headers()['referrer-policy']).toBe('no-referrer');
  await waitForServiceWorkerActive(page);
  const screens = {
    contacts: 'Emergency contacts',
    mood: 'Mood check-in',
    history: 'Incident history',
    settings: 'Settings',
    account: 'Account and sync',
  };
  for (const [screen, title] of Object.entries(screens)) {
    await page.goto(`/#/${screen}`);
    await page.getByRole('heading', { name: title, level: 2 }).waitFor();
  }
  await signUpInApp(page, `csp-${Date.now()}@example.org`);
  await page.goto('/#/');
  await page.getByRole('button', { name: /SOS/ }).waitFor();
  expect(e2e.cspViolations()).toEqual([]);

  // The policy is enforced, and the listener sees what it blocks.
  const ran = await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.vwInjected = true';
    document.head.append(script);
    return (window as unknown as { vwInjected?: boolean }).vwInjected === true;
  });
  expect(ran).toBe(false);
  await expect.poll(() => e2e.cspViolations().length).toBeGreaterThan(0);
  // Chromium's own console error and the page's event may both report it.
  for (const violation of e2e.cspViolations()) expect(violation).toMatch(/script-src|inline script/);
  e2e.clearCspViolations();
});

it('offline: SOS opens an SMS fallback to the tier-1 contact with a one-segment GSM-7 text; after sign-in the incident reaches Postgres once', async () => {
  const { context } = e2e;
  const page = await openControlledPage(context);
  await addContact(page, 'Mum', '07911 123456');

  const incident = await triggerOfflineSos(context, page);
  expect(incident).toMatchObject({
    status: 'active',
    latitude: LONDON.latitude,
    longitude: LONDON.longitude,
  });
  expect(await page.getByTestId('server-state').innerText()).toMatch(/Not yet received by the server/);

  const link = page.getByRole('link', { name: /Send SOS by SMS/ });
  const href = (await link.getAttribute('href')) ?? '';
  const match = /^sms:(\+447911123456)\?body=(.*)$/.exec(href);
  expect(match, href).not.toBeNull();
  const body = decodeURIComponent(match?.[2] ?? '');
  expect(body.length).toBeLessThanOrEqual(SOS_SMS_MAX_CHARS);
  expect(isGsm7(body)).toBe(true);
  expect(body).toContain('51.50735,-0.12776');
  expect(body).toContain(`Reply OK ${incident.code}`);
  await expect.poll(() => page.getByRole('link', { name: /^Call 999/ }).getAttribute('href')).toBe('tel:999');

  // Offline, the messaging app is opened once at once, by the app itself.
  expect(await openedLinks(page)).toEqual([{ href, byUser: false }]);

  // Tapping the link records "composer opened" (never "sent") and asks what happened.
  await link.click();
  await page.getByRole('group', { name: 'Did the message send?' }).waitFor();
  await page.getByRole('button', { name: 'Yes, it sent' }).click();
  const events = await readIndexedDb<{ type: string }>(page, 'incident_events');
  expect(events.map((e) => e.type).sort()).toEqual(['sms_composer_opened', 'sms_user_reported']);
  expect(await incidentsInPostgres(incident.id)).toBe(0);

  // "I'm safe" offline resolves the incident and offers the all-clear by SMS to the same contact.
  await page.getByRole('button', { name: "I'm safe" }).click();
  try {
    await page.getByRole('heading', { name: 'You marked yourself safe' }).waitFor();
  } catch (error) {
    e2e.log(`after I'm safe:\n${await page.locator('body').innerText()}`);
    e2e.log(JSON.stringify(await readIndexedDb(page, 'emergency_incidents')));
    throw error;
  }
  const allClear =
    (await page.getByRole('link', { name: 'Send all-clear by SMS' }).getAttribute('href')) ?? '';
  expect(allClear).toMatch(/^sms:\+447911123456\?body=All%20clear%20/);
  expect(isGsm7(decodeURIComponent(allClear.split('body=')[1] ?? ''))).toBe(true);

  await context.setOffline(false);
  await signUpInApp(page, `offline-sos-${Date.now()}@example.org`);
  await expect.poll(() => incidentsInPostgres(incident.id), { timeout: 20_000 }).toBe(1);
  await expect.poll(() => readIndexedDb(page, 'outbox'), { timeout: 20_000 }).toEqual([]);
  const serverEvents = await e2e.server.queryPostgres<{ type: string }>(
    'select type from incident_events where incident_id = $1 order by type',
    [incident.id],
  );
  expect(serverEvents.map((e) => e.type)).toEqual(['resolved', 'sms_composer_opened', 'sms_user_reported']);
  const status = await e2e.server.queryPostgres<{ status: string }>(
    'select status from emergency_incidents where id = $1',
    [incident.id],
  );
  expect(status).toEqual([{ status: 'resolved' }]);
});

it("the service worker's sync event pushes an SOS made offline, with no page of the app open", async () => {
  const { context } = e2e;
  const page = await openControlledPage(context);
  await signUpInApp(page, `sw-sync-${Date.now()}@example.org`);
  await page.goto('/');
  const incident = await triggerOfflineSos(context, page);
  const outbox = await readIndexedDb<{ name: string }>(page, 'outbox');
  expect(outbox.map((e) => e.name)).toContain('incident.trigger@1');

  // No app page is left: only the service worker can sync now. The page registered a background sync, which
  // Chromium fires by itself when the network returns; with the server down that attempt fails and Chromium
  // waits minutes before retrying, so the push below can only come from the event fired through CDP.
  await page.close();
  expect(await incidentsInPostgres(incident.id)).toBe(0);
  await e2e.server.stop();
  await context.setOffline(false);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await e2e.server.restart();
  expect(await incidentsInPostgres(incident.id)).toBe(0);
  await dispatchSyncEvent(context, 'vitalwatch-sync', { origin: e2e.server.url });
  await expect.poll(() => incidentsInPostgres(incident.id), { timeout: 20_000 }).toBe(1);

  // Once more for good measure: a repeated sync event does not duplicate anything.
  await dispatchSyncEvent(context, 'vitalwatch-sync', { origin: e2e.server.url });
  const app = await context.newPage();
  await app.goto('/#/sos');
  await app.getByText('✓ Received by the server').waitFor({ timeout: 20_000 });
  expect(await incidentsInPostgres(incident.id)).toBe(1);
});

it('online, a push the server does not answer within 5 s brings up the SMS fallback; the answer then shows as received', async () => {
  const { context } = e2e;
  // Installed before the service worker starts: Playwright routes a worker's requests only from its start on.
  let holding = false;
  const held: Array<() => void> = [];
  await context.route('**/sync/push', async (route) => {
    if (holding) await new Promise<void>((resolve) => held.push(resolve));
    await route.fallback();
  });
  const page = await openControlledPage(context);
  await addContact(page, 'Mum', '07911 123456');
  await signUpInApp(page, `slow-push-${Date.now()}@example.org`);
  await expect.poll(() => readIndexedDb(page, 'outbox'), { timeout: 20_000 }).toEqual([]);
  await page.goto('/');

  // A link that accepts the request and then says nothing (the page's and the service worker's pushes alike).
  holding = true;
  await page.getByRole('button', { name: /SOS/ }).click();
  await page.getByRole('button', { name: 'Send now' }).click();
  await page.getByRole('heading', { name: /SOS [A-Z0-9]{4} is open/ }).waitFor();
  expect(await openedLinks(page)).toEqual([]);
  // No acknowledgement within 5 s: the messaging app is opened once, by the app itself.
  await expect
    .poll(() => openedLinks(page), { timeout: 8_000 })
    .toEqual([{ href: expect.stringMatching(/^sms:\+447911123456\?body=SOS/) as unknown, byUser: false }]);
  expect(held.length).toBeGreaterThan(0);
  expect(await page.getByTestId('server-state').innerText()).toMatch(/Not yet received/);

  holding = false;
  for (const release of held.splice(0)) release();
  await page.getByText('✓ Received by the server').waitFor({ timeout: 20_000 });
  const [incident] = await readIndexedDb<LocalIncident>(page, 'emergency_incidents');
  await expect.poll(() => incidentsInPostgres(incident?.id ?? ''), { timeout: 10_000 }).toBe(1);
});

it("a second device of the same account sees a new contact within seconds (the server's poke, not the 60 s timer)", async () => {
  const email = `two-devices-${Date.now()}@example.org`;
  const phoneA = await openControlledPage(e2e.context);
  await signUpInApp(phoneA, email);
  const otherContext = await e2e.newContext();
  const phoneB = await otherContext.newPage();
  await phoneB.goto('/#/account');
  await phoneB.getByLabel('Email').fill(email);
  await phoneB.getByLabel('Password').fill(TEST_PASSWORD);
  await phoneB.getByRole('button', { name: 'Sign in' }).click();
  await phoneB.getByText('Signed in as').waitFor();
  await phoneB.goto('/#/contacts');
  await phoneB.getByText('No contacts yet.').waitFor();
  // Let B's first round finish and its event stream open before A writes.
  await phoneB.waitForTimeout(1_500);

  await phoneA.goto('/');
  await addContact(phoneA, 'Mum', '07911 123456');
  await phoneB.getByRole('listitem').filter({ hasText: 'Mum +447911123456' }).waitFor({ timeout: 15_000 });
});
