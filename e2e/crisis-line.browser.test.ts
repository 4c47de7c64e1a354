/**
 * Issue #16 item 5 in real Chromium on a 360×640 phone (SPEC WB5, WB6, WB7): a phone set to English (Kenya) opens
 * Settings, and below the emergency number finds Kenya's crisis line with call links, its hours, "Checked on
 * <date>" and the emergency number beside it; the data comes with Settings, not with the first visit. The user then picks a region with no
 * sourced line (after one with a text line): the card says so plainly and still shows that region's emergency number and a directory link.
 * With `E2E_SCREENSHOTS=<dir>` the test saves the three screens.
 */
import { expect, it } from 'vitest';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { screenshot } from './harness/screenshots.ts';

const PHONE = { width: 360, height: 640 };

const e2e = useBrowserSuite({
  contextOptions: { locale: 'en-KE', timezoneId: 'Africa/Nairobi', viewport: PHONE },
});

it('[WB5][WB6][WB7] Settings shows the region’s crisis line (call and text links, hours, checked date) beside the emergency number, loaded with Settings only; a region without a line says so and offers the directory', async () => {
  const page = await e2e.context.newPage();
  const scripts: string[] = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname);
  });
  await page.goto('/');
  await page.getByRole('button', { name: /SOS/ }).first().waitFor();
  // No script of the first visit holds the card or its data; Settings brings them.
  const firstVisit = [...scripts];
  for (const script of firstVisit) {
    expect(await (await page.request.get(script)).text()).not.toContain('findahelpline');
  }

  await page.goto('/#/settings');
  const card = page.getByTestId('crisis-line-card');
  await card
    .getByText('Kenya Red Cross and Ministry of Health counselling line')
    .waitFor({ timeout: 10_000 });
  expect(scripts.filter((s) => !firstVisit.includes(s)).some((s) => /settings-screen/.test(s))).toBe(true);

  const call = card.getByRole('link', { name: 'Call 1199' });
  expect(await call.getAttribute('href')).toBe('tel:1199');
  await card.getByText('Hours: 24 hours (toll-free)').waitFor();
  await card.getByText('Languages: Not stated by the source').waitFor();
  expect(await card.getByTestId('crisis-line-checked').innerText()).toMatch(
    /^Checked on 7 December 2026 \(source\)\.$/,
  );
  const emergency = card.getByTestId('crisis-emergency');
  expect(await emergency.getByRole('link', { name: '999' }).getAttribute('href')).toBe('tel:999');
  // Below the emergency number field.
  const field = await page.getByLabel('Local emergency number').boundingBox();
  const cardBox = await card.boundingBox();
  expect(field !== null && cardBox !== null && cardBox.y > field.y).toBe(true);
  await card.scrollIntoViewIfNeeded();
  await screenshot(page, 'crisis-line-1-kenya');

  // A line with a text number: the sms: link opens the phone's messaging app, nothing is sent by the app.
  await page.getByLabel(/Your region/).selectOption('ZA');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await card.getByText('SADAG (South African Depression and Anxiety Group)').waitFor({ timeout: 10_000 });
  expect(await card.getByRole('link', { name: 'Call 0800 456 789' }).getAttribute('href')).toBe(
    'tel:+27800456789',
  );
  expect(await card.getByRole('link', { name: 'Text 31393' }).getAttribute('href')).toBe('sms:31393');
  await card.getByText('SMS, and a counsellor calls you back').waitFor();
  expect(await emergency.getByRole('link').getAttribute('href')).toBe('tel:112');
  await card.scrollIntoViewIfNeeded();
  await screenshot(page, 'crisis-line-2-south-africa');

  // A region with no sourced line: said plainly, the emergency number (the default 112) and the directory.
  await page.getByLabel(/Your region/).selectOption('GH');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await card.getByText('We have no checked crisis line for Ghana yet.').waitFor({ timeout: 10_000 });
  const directory = card.getByRole('link', { name: 'Find a line in Find A Helpline' });
  expect(await directory.getAttribute('href')).toBe('https://findahelpline.com');
  expect(await emergency.getByRole('link').getAttribute('href')).toBe('tel:112');
  await card.scrollIntoViewIfNeeded();
  await screenshot(page, 'crisis-line-3-none');
});
