/**
 * Issue #14 item 6 and 7 in real Chromium on a 360×640 phone (SPEC SO47, SO40): a new user signs up, goes through
 * set-up (name, region confirmed from the phone's settings, one contact), presses "Test my SOS" and sees, for that
 * contact, what the carrier reported and the contact's reply. The server sends through the local Twilio stand-in
 * (fake-twilio.ts over HTTP, signed callbacks to PUBLIC_URL). Then a second device signed into the same account
 * gets the name, the countdown and the emergency number. With `E2E_SCREENSHOTS=<dir>` the test saves each step.
 */
import { expect, it } from 'vitest';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { openControlledPage } from './harness/service-worker.ts';
import { signUpInApp, TEST_PASSWORD } from './harness/app-account.ts';
import { TWILIO_FROM, useTwilioOnServer } from './harness/twilio-server.ts';
import { screenshot } from './harness/screenshots.ts';

const MUM_PHONE = '+447911123456';
const PHONE = { width: 360, height: 640 };

const e2e = useBrowserSuite({
  database: 'postgres',
  // A phone set up in the UK but running in US English, as many are.
  contextOptions: { locale: 'en-US', timezoneId: 'Europe/London', viewport: PHONE },
});
const twilio = useTwilioOnServer(e2e);

it('[SO47] a new user sets up (name, region, one contact), tests the SOS and sees per contact what was observed, including the reply; [SO40] a second device gets the settings', async () => {
  const email = `onboarding-${Date.now()}@example.org`;
  const page = await openControlledPage(e2e.context);
  await signUpInApp(page, email);
  await page.goto('/');

  // The home screen offers the set-up; its code loads when the user starts it (the first visit's budget).
  await page.getByRole('button', { name: 'Start set-up' }).click();
  const setup = page.locator('section.onboarding');
  await setup.getByRole('heading', { name: 'Set up your SOS' }).waitFor();
  await screenshot(page, 'onboarding-1-name', 'instead');
  // An empty name gets a message on the field, and nothing moves on.
  await setup.getByRole('button', { name: 'Next' }).click();
  await setup.getByText('Type the name your contacts know you by.').waitFor();
  await setup.getByLabel(/Your name/).fill('Ama Mensah');
  await setup.getByRole('button', { name: 'Next' }).click();

  // The region comes from the phone's settings (its time zone: the UK, though the language is en-US).
  const region = setup.getByLabel(/Where are you\?/);
  await region.waitFor();
  expect(await region.inputValue()).toBe('GB');
  await setup.getByText(/Emergency number in United Kingdom: 999/).waitFor();
  await screenshot(page, 'onboarding-2-region', 'instead');
  await setup.getByRole('button', { name: 'This is right' }).click();

  // One contact, typed as people in the UK type numbers.
  await setup.getByLabel('Their name').fill('Mum');
  await setup.getByLabel('Their mobile number').fill('0791 112');
  await setup.getByRole('button', { name: 'Add contact' }).click();
  await setup
    .getByRole('alert')
    .filter({ hasText: /not a valid number for United Kingdom: check the digits/ })
    .waitFor();
  await setup.getByLabel('Their mobile number').fill('07911 123456');
  await setup.getByRole('button', { name: 'Add contact' }).click();

  const test = page.getByTestId('sos-test');
  await test.getByRole('button', { name: 'Test my SOS' }).waitFor({ timeout: 10_000 });
  await screenshot(page, 'onboarding-3-test', 'instead');
  await test.getByRole('button', { name: 'Test my SOS' }).click();

  const request = await twilio().waitForRequest((r) => r.method === 'POST' && r.params.To === MUM_PHONE);
  expect(request.params.Body).toMatch(/^TEST from VitalWatch: Ama Mensah is testing their SOS alerts\./);
  const outcome = test.getByTestId('test-outcome').filter({ hasText: 'Mum' });
  await outcome
    .getByText('Handed to the SMS service; no word from the carrier yet.')
    .waitFor({ timeout: 10_000 });
  expect(await outcome.innerText()).toContain('07911 123456');
  expect(await outcome.innerText()).not.toMatch(/delivered|replied/i);

  const message = twilio().messages.find((m) => m.to === MUM_PHONE && m.direction === 'outbound-api');
  if (message === undefined) throw new Error('the fake has no message to Mum');
  expect((await twilio().sendCallback(message.sid, 'delivered')).map((r) => r.status)).toEqual([204]);
  await outcome
    .getByText('Delivered to their phone (the carrier confirmed it).')
    .waitFor({ timeout: 10_000 });
  const reply = await twilio().sendInbound(`${e2e.server.url}/webhooks/twilio/inbound`, {
    from: MUM_PHONE,
    to: TWILIO_FROM,
    body: 'OK love you',
  });
  expect(reply.body).toContain('Ama Mensah can see your reply to the test');
  await outcome.getByText('They replied: “OK love you”').waitFor({ timeout: 10_000 });
  await screenshot(page, 'onboarding-4-outcome', 'instead');
  // A test is never an incident: the server has none for this account, and no alert ledger.
  const [counts] = await e2e.server.queryPostgres<{ incidents: number; alerts: number }>(
    `select (select count(*)::int from emergency_incidents i join users u on u.id = i.user_id where u.email = $1) as incidents,
            (select count(*)::int from alert_logs l join users u on u.id = l.user_id where u.email = $1) as alerts`,
    [email],
  );
  expect(counts).toEqual({ incidents: 0, alerts: 0 });
  await test.page().getByRole('button', { name: 'Done' }).click();
  await setup.waitFor({ state: 'detached' });

  // The countdown set on this phone, then a second device signed into the same account.
  await page.goto('/#/settings');
  // A range input: set it as a drag would, with an input event.
  await page.getByLabel(/SOS countdown/).evaluate((input: HTMLInputElement) => {
    input.value = '3';
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings saved.').waitFor();
  await screenshot(page, 'settings-saved', 'instead');

  const second = await e2e.newContext({ viewport: PHONE, locale: 'en-US', timezoneId: 'America/New_York' });
  const other = await openControlledPage(second);
  await other.goto('/#/account');
  await other.getByLabel('Email').fill(email);
  await other.getByLabel('Password').fill(TEST_PASSWORD);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await other.getByText('Signed in as').waitFor();
  await other.goto('/');
  // The account's settings, not this phone's own defaults (New York would mean 911 and 5 s).
  await other.getByText('Press to start a 3-second countdown.').waitFor({ timeout: 15_000 });
  await other.goto('/#/settings');
  expect(await other.getByLabel(/Your name/).inputValue()).toBe('Ama Mensah');
  expect(await other.getByLabel('Local emergency number').inputValue()).toBe('999');
  await screenshot(other, 'second-device-settings', 'instead');
});

it('[SO47] signed out, the test goes through the phone: one sms: link per contact, "messaging app opened", then the user\'s answer', async () => {
  const page = await openControlledPage(e2e.context);
  await page.getByRole('button', { name: 'Start set-up' }).click();
  const setup = page.locator('section.onboarding');
  await setup.getByLabel(/Your name/).fill('Kofi');
  await setup.getByRole('button', { name: 'Next' }).click();
  await setup.getByRole('button', { name: 'This is right' }).click();
  await setup.getByLabel('Their name').fill('Ama');
  await setup.getByLabel('Their mobile number').fill('07911 123457');
  await setup.getByRole('button', { name: 'Add contact' }).click();

  const test = page.getByTestId('sos-test');
  const link = test.getByRole('link', { name: 'Text Ama a test (07911 123457)' });
  await link.waitFor({ timeout: 10_000 });
  const href = (await link.getAttribute('href')) ?? '';
  // One recipient, the same TEST words the server would send.
  expect(href).toMatch(/^sms:\+447911123457\?body=/);
  expect(decodeURIComponent(href.split('body=')[1] ?? '')).toMatch(/^TEST from VitalWatch: Kofi is testing/);
  expect(await test.getByRole('button', { name: 'Test my SOS' }).count()).toBe(0);
  await link.click();
  await test.getByText('Messaging app opened. Did it send?').waitFor();
  await test.getByRole('button', { name: 'Yes' }).click();
  await test.getByText("You said it sent. Their reply comes to your phone's messages.").waitFor();
  await screenshot(page, 'onboarding-5-phone-test', 'instead');
  // The phone sent it (or not): the server sent nothing.
  expect(twilio().messages.filter((m) => m.to === '+447911123457')).toHaveLength(0);
});
