/**
 * Issue #5's "done when": an online SOS in the app shows per-contact delivery as it happens. The real server
 * sends through the local Twilio stand-in (fake-twilio.ts, reached over HTTP through TWILIO_API_URL, posting
 * signed callbacks to PUBLIC_URL); the app learns each change through a poke and a pull, and never says more
 * than the ledger row does: "accepted by the SMS provider" until Twilio reports "sent", and "delivered" only
 * after the carrier's receipt.
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { openControlledPage } from './harness/service-worker.ts';
import { signUpInApp } from './harness/app-account.ts';
import { TWILIO_FROM, useTwilioOnServer } from './harness/twilio-server.ts';

const LONDON = { latitude: 51.507351, longitude: -0.127758, accuracy: 20 };
const MUM_PHONE = '+447911123456';

const e2e = useBrowserSuite({
  contextOptions: { geolocation: LONDON, permissions: ['geolocation'], locale: 'en-GB' },
});
const twilio = useTwilioOnServer(e2e);

async function addContact(page: Page, name: string, phone: string): Promise<void> {
  await page.goto('/#/contacts');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Phone').fill(phone);
  await page.getByRole('button', { name: 'Save contact' }).click();
  await page
    .getByRole('listitem')
    .filter({ hasText: `${name} 07911 123456 · tier 1` })
    .waitFor();
}

it('[SO12] online SOS: the contact\'s SMS shows "accepted", then "sent", then "delivered" as Twilio reports it; an "OK <code>" reply shows "Acknowledged"', async () => {
  const page = await openControlledPage(e2e.context);
  await signUpInApp(page, `alert-delivery-${Date.now()}@example.org`);
  await addContact(page, 'Mum', '07911 123456');
  await page.goto('/');

  await page.getByRole('button', { name: /SOS/ }).click();
  await page.getByRole('timer', { name: 'SOS countdown' }).waitFor();
  // The countdown runs out by itself (default 5 s).
  await page.getByRole('heading', { name: /SOS [A-Z0-9]{4} is open/ }).waitFor({ timeout: 15_000 });

  const request = await twilio().waitForRequest((r) => r.method === 'POST' && r.params.To === MUM_PHONE);
  expect(request).toMatchObject({ authorized: true, params: { From: TWILIO_FROM } });
  expect(request.params.StatusCallback).toBe(`${e2e.server.url}/webhooks/twilio/status`);
  const message = twilio().messages.find((m) => m.to === MUM_PHONE && m.direction === 'outbound-api');
  if (message === undefined) throw new Error('the fake has no message to Mum');
  const code = /Reply OK ([A-Z0-9]{4,8})\b/.exec(message.body)?.[1];
  expect(code, message.body).toBeDefined();

  const ledger = page.getByTestId('delivery-ledger');
  // Twilio's API answered `queued`: accepted, nothing has left yet.
  await ledger.getByText(/^Mum — SMS: accepted by the SMS provider \d\d:\d\d$/).waitFor({ timeout: 10_000 });
  expect(await page.getByTestId('server-state').innerText()).toContain('✓ Received by the server');
  expect(await ledger.innerText()).not.toMatch(/delivered|\bsent\b/);

  expect((await twilio().sendCallback(message.sid, 'sent')).map((r) => r.status)).toEqual([204]);
  await ledger.getByText(/^Mum — SMS: sent \d\d:\d\d$/).waitFor({ timeout: 5_000 });
  expect(await ledger.innerText()).not.toMatch(/delivered/);
  // The carrier's "sent" is an observed delivery (SO12): reached, and the phone need not text Mum itself.
  await page.getByRole('heading', { name: 'Reached, no answer yet: Mum' }).waitFor({ timeout: 5_000 });
  expect(await page.getByTestId('sms-contact').count()).toBe(0);

  expect((await twilio().sendCallback(message.sid, 'delivered')).map((r) => r.status)).toEqual([204]);
  await ledger.getByText(/^Mum — SMS: delivered \d\d:\d\d$/).waitFor({ timeout: 5_000 });

  const reply = await twilio().sendInbound(`${e2e.server.url}/webhooks/twilio/inbound`, {
    from: MUM_PHONE,
    to: TWILIO_FROM,
    body: `OK ${code ?? ''}`,
  });
  expect(reply.status).toBe(200);
  expect(reply.body).toMatch(/thank you/);
  await ledger.getByText(/^Mum — Acknowledged \d\d:\d\d$/).waitFor({ timeout: 5_000 });
  await page.getByRole('heading', { name: 'Answered: Mum' }).waitFor({ timeout: 5_000 });
  // Still the delivery line too: the answer does not hide how the alert arrived.
  expect(await ledger.innerText()).toMatch(/Mum — SMS: delivered/);
  // Nobody needs prompting now (and it was not yet 5 minutes anyway).
  expect(await page.getByRole('link', { name: /Nobody has answered yet/ }).count()).toBe(0);
});

it('[SO9] reached by SMS and open for 5 minutes with nobody answering: "Nobody has answered yet" with the emergency number, only because someone was told', async () => {
  const page = await openControlledPage(e2e.context);
  await signUpInApp(page, `no-answer-${Date.now()}@example.org`);
  await addContact(page, 'Mum', '07911 123456');
  await page.goto('/');
  await page.clock.install();
  await page.getByRole('button', { name: /SOS/ }).click();
  await page.getByRole('button', { name: 'Send now' }).click();
  await page.getByRole('heading', { name: /SOS [A-Z0-9]{4} is open/ }).waitFor();
  // This incident's message (the fake keeps the earlier test's messages to the same number too).
  const code = /SOS ([A-Z0-9]{4}) is open/.exec(
    await page.getByRole('heading', { level: 2 }).innerText(),
  )?.[1];
  const ours = () =>
    twilio().messages.find(
      (m) => m.to === MUM_PHONE && m.direction === 'outbound-api' && m.body.includes(`OK ${code}`),
    );
  await expect.poll(ours, { timeout: 15_000 }).toBeDefined();
  await twilio().sendCallback(ours()!.sid, 'delivered');
  await page.getByRole('heading', { name: 'Reached, no answer yet: Mum' }).waitFor({ timeout: 10_000 });

  const prompt = page.getByRole('heading', { name: 'Nobody has answered yet. Reached: Mum. Call 999' });
  await page.clock.fastForward('04:30');
  expect(await prompt.count()).toBe(0);
  await page.clock.fastForward('00:40');
  await prompt.waitFor({ timeout: 5_000 });
  expect(await page.getByRole('link', { name: 'Call 999 now' }).getAttribute('href')).toBe('tel:999');
});
