/**
 * The SOS button in reach (issue #14 item 5) and phone numbers people can type (item 10), in real Chromium at the
 * two phone sizes the issue names. With `E2E_SCREENSHOTS=<dir>` the test saves what each screen shows.
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { screenshot } from './harness/screenshots.ts';

const e2e = useBrowserSuite({
  database: 'postgres',
  contextOptions: { locale: 'en-US', timezoneId: 'Africa/Nairobi' },
});

const SIZES = [
  { width: 360, height: 640 },
  { width: 390, height: 844 },
] as const;

/** The focusable controls that come after the sync status line, in document order, by their accessible text. */
function controlsAfterStatus(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const status = document.querySelector('.sync-status');
    if (status === null) throw new Error('no sync status line');
    return [...document.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea')]
      .filter((el) => status.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)
      .filter((el) => !status.contains(el) && el.getClientRects().length > 0)
      .map((el) => el.getAttribute('aria-label') ?? el.textContent?.trim() ?? '');
  });
}

for (const size of SIZES) {
  it(`[SO1] at ${size.width}×${size.height} the SOS button is the first control after the status line, wholly on screen and at least 160 px high`, async () => {
    const context = await e2e.newContext({ viewport: size });
    const page = await context.newPage();
    await page.goto('/');
    const button = page.getByRole('button', { name: 'SOS: alert my emergency contacts' });
    await button.waitFor();
    // A first visit is the longest home screen: onboarding and the "no contacts yet" warning are on it too.
    await page.getByRole('heading', { name: 'Set up your SOS' }).waitFor();
    await screenshot(page, `home-${size.width}x${size.height}`);

    expect((await controlsAfterStatus(page))[0]).toBe('SOS: alert my emergency contacts');
    const box = await button.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.height).toBeGreaterThanOrEqual(160);
    expect(box!.y).toBeGreaterThanOrEqual(0);
    expect(box!.y + box!.height).toBeLessThanOrEqual(size.height);
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(size.width);
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    // Tapping it at its centre (not a scrolled-to position) starts the countdown.
    await page.mouse.click(box!.x + box!.width / 2, box!.y + box!.height / 2);
    await page.getByRole('timer', { name: 'SOS countdown' }).waitFor();
    await page.getByRole('button', { name: 'Cancel SOS' }).click();
  });
}

it("[SO5] a number typed the way people dial it is read with the time zone's country and shown formatted; a wrong one gets a message on the phone field with an example", async () => {
  const context = await e2e.newContext({ viewport: SIZES[0] });
  const page = await context.newPage();
  await page.goto('/#/contacts');
  await page.getByLabel('Name').fill('Mum');
  const phone = page.getByLabel('Phone');
  await phone.fill('0712 34');
  await page.getByRole('button', { name: 'Save contact' }).click();
  const error =
    'This number is too short for Kenya: check the digits. Or add the country code, e.g. +254 712 123456.';
  await page.getByText(error).waitFor();
  // Tied to the field: the input is marked invalid and names the message.
  expect(await phone.getAttribute('aria-invalid')).toBe('true');
  const describedBy = (await phone.getAttribute('aria-describedby')) ?? '';
  expect(await page.locator(`#${describedBy}`).innerText()).toBe(error);
  await screenshot(page, 'contacts-error-360x640');

  // An en-US phone in Nairobi: "0712 345678" is a Kenyan number, not an American one.
  await phone.fill('0712 345678');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await page.getByText('Saved Mum (0712 345678).').waitFor();
  await page.getByRole('listitem').filter({ hasText: 'Mum 0712 345678 · tier 1' }).waitFor();
  expect(await page.getByText('+254712345678').count()).toBe(0);
  expect(await phone.getAttribute('aria-invalid')).toBe('false');
  await screenshot(page, 'contacts-saved-360x640');
});
