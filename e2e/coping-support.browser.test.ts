/**
 * Issue #16 items 1 and 2 in real Chromium on a 360×640 phone (SPEC WB20–WB24): a very low check-in opens the
 * support sheet at once; from there the user runs the breathing exercise (the page's clock fast-forwarded through
 * its two minutes), rates distress before and after, and saves. After sign-in the use reaches Postgres exactly
 * once, with its ratings, and nothing alerted anyone: no incident, no alert row. With `E2E_SCREENSHOTS=<dir>`
 * the test saves the home screen, the sheet, the tools list and the breathing guide.
 */
import { expect, it } from 'vitest';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { openControlledPage } from './harness/service-worker.ts';
import { signUpInApp } from './harness/app-account.ts';
import { readIndexedDb } from './harness/indexed-db.ts';
import { screenshot } from './harness/screenshots.ts';

const PHONE = { width: 360, height: 640 };

const e2e = useBrowserSuite({
  database: 'postgres',
  contextOptions: { locale: 'en-GB', timezoneId: 'Europe/London', viewport: PHONE },
});

interface LocalUse {
  id: string;
  tool: string;
  completed: boolean;
  durationSeconds: number | null;
  distressBefore: number | null;
  distressAfter: number | null;
  helpfulness: number | null;
}

it('[WB20] a very low check-in opens the support sheet; [WB23][WB24] a breathing exercise with distress before and after is logged and reaches the server once after sign-in, and nobody is alerted', async () => {
  const page = await openControlledPage(e2e.context);
  await page.clock.install();

  // Home: SOS first; "I need support now" right under it, on screen at 360×640 without scrolling.
  await page.goto('/');
  const support = page.getByRole('link', { name: 'I need support now' });
  await support.waitFor();
  const box = await support.boundingBox();
  expect(box).not.toBeNull();
  expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(PHONE.height);
  expect(box?.height ?? 0).toBeGreaterThanOrEqual(44);
  await page.getByRole('link', { name: 'Coping tools' }).waitFor();
  await screenshot(page, 'coping-1-home', 'also');

  // A trusted person to write to.
  await page.getByRole('link', { name: 'Contacts' }).click();
  await page.getByLabel('Name').fill('Sam');
  await page.getByLabel('Phone').fill('07911 123456');
  await page.getByRole('button', { name: 'Save contact' }).click();
  await page.getByRole('listitem').filter({ hasText: 'Sam' }).waitFor();

  // The check-in the issue describes, at the lowest score.
  await page.goto('/#/mood');
  await page.getByLabel('1 · Very low').check();
  await page.getByLabel('Note (optional)').fill('I do not want to be here anymore');
  await page.getByRole('button', { name: 'Save check-in' }).click();
  const sheet = page.locator('section.support');
  await sheet.getByRole('heading', { name: 'You are not alone right now' }).waitFor();
  expect(page.url()).toMatch(/#\/support\/check-in$/);
  await sheet.getByText('Your check-in is saved.').waitFor();
  expect(await sheet.getByRole('link', { name: /Call 999/ }).getAttribute('href')).toBe('tel:999');
  // The region's crisis line under it, checked against its source; the emergency number is not repeated in it.
  const card = sheet.getByTestId('crisis-line-card');
  await card.getByTestId('crisis-line-checked').waitFor();
  expect(
    await card
      .getByRole('link', { name: /^Call / })
      .first()
      .getAttribute('href'),
  ).toMatch(/^tel:/);
  expect(await card.getByTestId('crisis-emergency').count()).toBe(0);
  const tools = sheet.getByRole('list', { name: 'Coping tools that may help' }).getByRole('link');
  expect(await tools.count()).toBe(2);
  // The composer only opens the messages app for Sam, with the text the user can change; nothing is sent.
  await screenshot(page, 'coping-2-support-sheet', 'also');
  const write = sheet.getByRole('link', { name: 'Write to Sam' });
  await sheet.getByLabel(/Your message/).fill('Can you call me tonight?');
  expect(await write.getAttribute('href')).toBe('sms:+447911123456?body=Can%20you%20call%20me%20tonight%3F');
  // Only the check-in waits in the outbox: opening the sheet wrote nothing and sent nothing.
  const outbox = await readIndexedDb<{ name: string }>(page, 'outbox');
  expect(outbox.map((e) => e.name).sort()).toEqual(['contact.upsert@1', 'mood.upsert@1']);

  // Slow breathing from the sheet: distress 8 before, two minutes on the page's clock, 5 after.
  await tools.filter({ hasText: 'Slow breathing' }).click();
  await page.getByRole('heading', { name: 'Slow breathing' }).waitFor();
  await page.getByRole('button', { name: 'Distress 8 of 10' }).click();
  await page.getByText(/Breathe in · \d/).waitFor();
  await page.clock.fastForward('00:05');
  await page.getByText(/Breathe out · \d/).waitFor();
  await screenshot(page, 'coping-3-breathing', 'also');
  await page.clock.fastForward('02:00');
  await page.getByText('Well done.').waitFor();
  await page.getByRole('button', { name: 'Distress 5 of 10' }).click();
  await page.getByRole('button', { name: 'Quite a lot' }).click();
  await screenshot(page, 'coping-4-after', 'also');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved on this phone.').waitFor();
  await page.getByText('Your distress went from 8 to 5.').waitFor();

  const [use, ...others] = await readIndexedDb<LocalUse>(page, 'coping_tools_usage');
  expect(others).toEqual([]);
  expect(use).toMatchObject({
    tool: 'paced_breathing',
    completed: true,
    distressBefore: 8,
    distressAfter: 5,
    helpfulness: 4,
  });
  expect(use?.durationSeconds).toBeGreaterThanOrEqual(120);
  expect(use?.durationSeconds).toBeLessThan(140);

  await page.getByRole('link', { name: 'Back to coping tools' }).click();
  await page.getByRole('heading', { name: 'Coping tools' }).waitFor();
  await page.getByText(/once you have rated a tool before and after 3 times/).waitFor();
  await screenshot(page, 'coping-5-tools-list', 'also');

  // Signed in, the use reaches the server once; nothing written or scored alerted anyone.
  await signUpInApp(page, `coping-${Date.now()}@example.org`);
  const serverRows = () =>
    e2e.server.queryPostgres<Record<string, unknown>>(
      'select tool, completed, distress_before, distress_after, helpfulness, duration_seconds from coping_tools_usage where id = $1',
      [use?.id],
    );
  await expect.poll(async () => (await serverRows()).length, { timeout: 20_000 }).toBe(1);
  expect(await serverRows()).toEqual([
    {
      tool: 'paced_breathing',
      completed: true,
      distress_before: 8,
      distress_after: 5,
      helpfulness: 4,
      duration_seconds: use?.durationSeconds,
    },
  ]);
  await expect.poll(() => readIndexedDb(page, 'outbox'), { timeout: 20_000 }).toEqual([]);
  expect(await serverRows()).toHaveLength(1);
  const [counts] = await e2e.server.queryPostgres<{ alerts: number; incidents: number; moods: number }>(
    `select (select count(*)::int from alert_logs) as alerts,
            (select count(*)::int from emergency_incidents) as incidents,
            (select count(*)::int from mood_entries where note = 'I do not want to be here anymore') as moods`,
  );
  expect(counts).toEqual({ alerts: 0, incidents: 0, moods: 1 });
});
