/**
 * A contact asks for alerts in their VitalWatch account from an alert link, and the owner approves it (SPEC AL28,
 * SE16): the app's `#/link/<token>` screen and the contacts screen in real Chromium against the real server. Ama
 * (the user in danger) acts over HTTP as her device would: sign-up, a contact, an SOS; the server's dispatcher
 * makes Kofi's alert link, read from Postgres. Kofi uses the app; so does Ama, on a 360×640 phone, to approve.
 * With `E2E_SCREENSHOTS=<dir>` the test saves what Ama's contacts screen shows before and after approving.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { newId } from '../schema/src/ids.ts';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { accountNamed } from './harness/http-accounts.ts';
import { signInInApp, signUpInApp, TEST_PASSWORD } from './harness/app-account.ts';
import { openControlledPage } from './harness/service-worker.ts';

const e2e = useBrowserSuite({ buildId: 'app-link', database: 'postgres' });

/** Ama signs up, names herself, adds Kofi and sends an SOS; returns Kofi's alert link token once it exists. */
async function amaAlertsKofi(): Promise<{ email: string; token: string; contactId: string }> {
  const ama = await accountNamed(e2e.server.url, 'Ama');
  const contactId = newId<string>();
  await ama.push('user', 'contact.upsert@1', {
    id: contactId,
    fields: { name: 'Kofi', tier: 1 },
    phoneE164: '+447700900123',
    expectedPhoneE164: null,
  });
  await ama.push('critical', 'incident.trigger@1', {
    id: newId<string>(),
    code: 'K7Q2',
    trigger: 'panic_button',
    triggeredAt: Date.now(),
  });
  for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
    const [link] = await e2e.server.queryPostgres<{ token: string }>(
      'select token from alert_links where contact_id = $1',
      [contactId],
    );
    if (link !== undefined) return { email: ama.email, token: link.token, contactId };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the dispatcher made no alert link for Kofi within 15 s');
}

/** The contact's approved account and the account waiting for approval, as the server stores them. */
async function appLinkOf(contactId: string): Promise<{ linked: string | null; requested: string | null }> {
  const [row] = await e2e.server.queryPostgres<{
    contact_user_id: string | null;
    app_link_requested_by: string | null;
  }>('select contact_user_id, app_link_requested_by from emergency_contacts where id = $1', [contactId]);
  return { linked: row?.contact_user_id ?? null, requested: row?.app_link_requested_by ?? null };
}

async function userIdOf(email: string): Promise<string> {
  const [row] = await e2e.server.queryPostgres<{ id: string }>('select id from users where email = $1', [
    email,
  ]);
  if (row === undefined) throw new Error(`no account ${email}`);
  return row.id;
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.E2E_SCREENSHOTS;
  if (dir !== undefined && dir !== '')
    await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

it("[AL28][SE16] signed in: Kofi asks on the link screen, which says it waits for Ama; Ama sees the request with Kofi's name and sign-in on her contacts screen at 360×640, approves it, and the list shows the linked account", async () => {
  const ama = await amaAlertsKofi();
  const kofi = await accountNamed(e2e.server.url, 'Kofi Mensah');
  const page = await e2e.context.newPage();
  await signInInApp(page, kofi.email);

  await page.goto(`/#/link/${ama.token}`);
  await page.getByRole('button', { name: "Ask for Ama's alerts on this account" }).click();
  await page.getByText('Asked. Waiting for Ama to approve.').waitFor();
  expect(await appLinkOf(ama.contactId)).toEqual({ linked: null, requested: await userIdOf(kofi.email) });

  const phone = await e2e.newContext({ viewport: { width: 360, height: 640 } });
  const amaPage = await phone.newPage();
  await signInInApp(amaPage, ama.email);
  await amaPage.goto('/#/contacts');
  await amaPage.getByText('An account asks to get your alerts in the app. Answer it below.').waitFor();
  const request = amaPage.getByRole('group', { name: "Request for Kofi's alerts in the app" });
  await request.getByText(`Kofi Mensah (${kofi.email}) asks to get your SOS alerts`).waitFor();
  await request.scrollIntoViewIfNeeded();
  await screenshot(amaPage, 'contacts-request-360x640');
  // Nothing widens the page past the phone's screen (a long email address included).
  const pageWidth = () => amaPage.evaluate(() => document.documentElement.scrollWidth);
  expect(await pageWidth()).toBeLessThanOrEqual(360);
  // The buttons fit the phone's width: nothing to scroll sideways to reach them.
  for (const name of ['Approve', 'Decline']) {
    const box = await request.getByRole('button', { name }).boundingBox();
    expect(box, name).not.toBeNull();
    expect(box!.x + box!.width, name).toBeLessThanOrEqual(360);
  }

  await request.getByRole('button', { name: 'Approve' }).click();
  const kofiItem = amaPage.getByRole('listitem').filter({ hasText: 'Kofi' });
  await kofiItem
    .getByText(`Gets your alerts in the VitalWatch app on Kofi Mensah (${kofi.email}).`)
    .waitFor();
  await expect(request.count()).resolves.toBe(0);
  await screenshot(amaPage, 'contacts-linked-360x640');
  expect(await pageWidth()).toBeLessThanOrEqual(360);
  expect(await appLinkOf(ama.contactId)).toEqual({ linked: await userIdOf(kofi.email), requested: null });

  await page.reload();
  await page.getByText("Ama's alerts come to this account in the VitalWatch app: Ama approved it.").waitFor();
  await page.getByRole('heading', { name: 'Alerts for people who list you as a contact' }).waitFor();
});

it('[AL28] signed out: the link screen sends Kofi to the account screen and comes back after sign-up', async () => {
  const ama = await amaAlertsKofi();
  const page = await e2e.context.newPage();
  await page.goto(`/#/link/${ama.token}`);
  await page.getByRole('link', { name: 'Sign in or create an account' }).click();
  await page.getByLabel('Email').fill(`kofi-${randomUUID()}@example.org`);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();

  await page.getByRole('button', { name: "Ask for Ama's alerts on this account" }).click();
  await page.getByText('Asked. Waiting for Ama to approve.').waitFor();
  expect(page.url()).toContain(`#/link/${ama.token}`);
  expect((await appLinkOf(ama.contactId)).requested).not.toBeNull();
});

it('[AL28] offline: the link screen says so and changes nothing, then offers the button once back online', async () => {
  const ama = await amaAlertsKofi();
  // Offline, the link screen's code must come from the service worker's cache: a page it controls (an uncontrolled
  // one only found it in the HTTP cache when the worker's precache had finished first).
  const page = await openControlledPage(e2e.context);
  await signUpInApp(page, `kofi-${randomUUID()}@example.org`);

  await e2e.context.setOffline(true);
  await page.evaluate((token) => (window.location.hash = `#/link/${token}`), ama.token);
  await page.getByText('You are offline. Linking needs a connection; nothing was changed.').waitFor();
  expect(await appLinkOf(ama.contactId)).toEqual({ linked: null, requested: null });

  await e2e.context.setOffline(false);
  await page.getByRole('button', { name: "Ask for Ama's alerts on this account" }).click();
  await page.getByText('Asked. Waiting for Ama to approve.').waitFor();
  expect((await appLinkOf(ama.contactId)).requested).not.toBeNull();
});
