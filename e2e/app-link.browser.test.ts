/**
 * A contact links their VitalWatch account from an alert link (SPEC AL28): the app's `#/link/<token>` screen in
 * real Chromium against the real server. Ama (the user in danger) acts over HTTP as her device would: sign-up,
 * a contact, an SOS; the server's dispatcher makes Kofi's alert link, read from Postgres. Kofi uses the app.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { newId } from '../schema/src/ids.ts';
import { formatHlc } from '../schema/src/protocol/hlc.ts';
import type { MutatorArgs, MutatorName } from '../schema/src/protocol/mutators.ts';
import { PROTOCOL_VERSION } from '../schema/src/protocol/protocol-version.ts';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { signUpInApp, TEST_PASSWORD } from './harness/app-account.ts';
import { openControlledPage } from './harness/service-worker.ts';

const e2e = useBrowserSuite({ buildId: 'app-link', database: 'postgres' });

function accessTokenOf(body: unknown): string {
  if (
    typeof body === 'object' &&
    body !== null &&
    'access_token' in body &&
    typeof body.access_token === 'string'
  )
    return body.access_token;
  throw new Error(`sign-up answered without an access token: ${JSON.stringify(body)}`);
}

async function api(path: string, init: { method: string; token?: string; body?: unknown }) {
  const response = await fetch(`${e2e.server.url}${path}`, {
    method: init.method,
    headers: {
      'content-type': 'application/json',
      ...(init.token !== undefined && { authorization: `Bearer ${init.token}` }),
    },
    body: JSON.stringify(init.body),
  });
  if (!response.ok) throw new Error(`${init.method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json().catch(() => null)) as unknown;
}

/** Ama signs up, names herself, adds Kofi and sends an SOS; returns Kofi's alert link token once it exists. */
async function amaAlertsKofi(): Promise<{ email: string; token: string; contactId: string }> {
  const email = `ama-${randomUUID()}@example.org`;
  // Sign-up answers the user without a session (SE45); the session comes from signing in.
  await api('/auth/v1/signup', { method: 'POST', body: { email, password: TEST_PASSWORD } });
  const token = accessTokenOf(
    await api('/auth/v1/token?grant_type=password', {
      method: 'POST',
      body: { email, password: TEST_PASSWORD },
    }),
  );
  await api('/api/v1/me', { method: 'PATCH', token, body: { display_name: 'Ama' } });
  const clientId = newId<string>();
  // One mutation per lane, so each is seq 1 of its lane.
  const push = async <N extends MutatorName>(lane: 'user' | 'critical', name: N, args: MutatorArgs<N>) => {
    const now = Date.now();
    const hlc = formatHlc({ ms: now, counter: 0 }, 'e2e');
    await api('/sync/push', {
      method: 'POST',
      token,
      body: {
        protocolVersion: PROTOCOL_VERSION,
        clientId,
        lane,
        sentAt: now,
        mutations: [{ seq: 1, name, args, hlc, createdAt: now }],
      },
    });
  };
  const contactId = newId<string>();
  await push('user', 'contact.upsert@1', {
    id: contactId,
    fields: { name: 'Kofi', tier: 1 },
    phoneE164: '+447700900123',
    expectedPhoneE164: null,
  });
  await push('critical', 'incident.trigger@1', {
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
    if (link !== undefined) return { email, token: link.token, contactId };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the dispatcher made no alert link for Kofi within 15 s');
}

async function linkedAccount(contactId: string): Promise<string | null> {
  const [row] = await e2e.server.queryPostgres<{ contact_user_id: string | null }>(
    'select contact_user_id from emergency_contacts where id = $1',
    [contactId],
  );
  return row?.contact_user_id ?? null;
}

async function signInInApp(page: Page, email: string): Promise<void> {
  await page.goto('/#/account');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByText('Signed in as').waitFor();
}

it("[AL28] signed in: the link screen names Ama, links on a button press and offers notifications; Ama's contacts screen shows Kofi gets alerts in the app", async () => {
  const ama = await amaAlertsKofi();
  const page = await e2e.context.newPage();
  await signUpInApp(page, `kofi-${randomUUID()}@example.org`);

  await page.goto(`/#/link/${ama.token}`);
  await page.getByRole('button', { name: "Get Ama's alerts on this account" }).click();
  await page.getByText("Done: Ama's alerts now come to this account in the VitalWatch app.").waitFor();
  await page.getByRole('heading', { name: 'Alerts for people who list you as a contact' }).waitFor();
  expect(await linkedAccount(ama.contactId)).not.toBeNull();

  const amaPage = await (await e2e.newContext()).newPage();
  await signInInApp(amaPage, ama.email);
  await amaPage.goto('/#/contacts');
  await amaPage
    .getByRole('listitem')
    .filter({ hasText: 'Kofi' })
    .filter({ hasText: 'gets alerts in the VitalWatch app too' })
    .waitFor({ timeout: 10_000 });
});

it('[AL28] signed out: the link screen sends Kofi to the account screen and comes back after sign-up', async () => {
  const ama = await amaAlertsKofi();
  const page = await e2e.context.newPage();
  await page.goto(`/#/link/${ama.token}`);
  await page.getByRole('link', { name: 'Sign in or create an account' }).click();
  await page.getByLabel('Email').fill(`kofi-${randomUUID()}@example.org`);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();

  await page.getByRole('button', { name: "Get Ama's alerts on this account" }).click();
  await page.getByText("Done: Ama's alerts now come to this account in the VitalWatch app.").waitFor();
  expect(page.url()).toContain(`#/link/${ama.token}`);
  expect(await linkedAccount(ama.contactId)).not.toBeNull();
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
  expect(await linkedAccount(ama.contactId)).toBeNull();

  await e2e.context.setOffline(false);
  await page.getByRole('button', { name: "Get Ama's alerts on this account" }).click();
  await page.getByText("Done: Ama's alerts now come to this account in the VitalWatch app.").waitFor();
  expect(await linkedAccount(ama.contactId)).not.toBeNull();
});
