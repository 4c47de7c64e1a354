/**
 * Issue #16 items 3, 6, 8 and 9 in real Chromium on a 360×640 phone (SPEC WB40–WB47): signed out and offline-first,
 * the user fills the PHQ-9 with its last question above "Not at all", which opens the support sheet at once; the
 * result shows with its band and chart; a mood check-in is edited (only the changed field) and another deleted;
 * Insights says what it needs more of. After sign-in the questionnaire reaches Postgres exactly once with the total
 * the server added up, the edit and the delete arrive, and nothing alerted anyone: no incident, no alert row.
 * With `E2E_SCREENSHOTS=<dir>` the test saves the questionnaire, its result, the mood history and Insights.
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

// PHQ-9 answers, 0–3 each: item 9 ("better off dead or of hurting yourself") is 1, "Several days". Total 11.
const PHQ9_ANSWERS = [2, 2, 1, 1, 1, 2, 0, 1, 1];
const ANSWER_LABELS = ['Not at all', 'Several days', 'More than half the days', 'Nearly every day'];

it('[WB41][WB47] PHQ-9 item 9 above "Not at all" opens support and the result syncs once; [WB46] a check-in is edited and another deleted; nobody is alerted', async () => {
  const page = await openControlledPage(e2e.context);
  await page.goto('/');
  await page.getByRole('link', { name: 'Check-in questionnaires' }).click();
  await page.getByRole('button', { name: /PHQ-9 \(mood\): 9 questions/ }).click();
  for (const [index, answer] of PHQ9_ANSWERS.entries()) {
    await page.getByText(`question ${index + 1} of 9`).waitFor();
    if (index === 8) await screenshot(page, 'questionnaire-1-item-9', 'also');
    await page.getByRole('button', { name: ANSWER_LABELS[answer] ?? '', exact: true }).click();
  }
  // The support sheet opens at once, for the person answering.
  await page
    .locator('section.support')
    .getByRole('heading', { name: 'You are not alone right now' })
    .waitFor();
  const [stored] = await readIndexedDb<{ id: string; screener: string; total: number }>(
    page,
    'screener_results',
  );
  expect(stored).toMatchObject({ screener: 'phq9', total: 11 });

  // The result and its history: band in plain words, a chart with its table.
  await page.goto('/#/screeners');
  await page.getByRole('heading', { name: 'PHQ-9 (mood): your results' }).waitFor();
  await page.getByText('11 of 27 · Moderate').waitFor();
  await page.getByRole('table', { name: 'PHQ-9 (mood) scores' }).waitFor({ state: 'attached' });
  await screenshot(page, 'questionnaire-2-history', 'also');

  // Two check-ins; the first edited (anxiety added), the second deleted.
  await page.goto('/#/mood');
  for (const [mood, note] of [
    ['3 · Okay', 'first'],
    ['4 · Good', 'second'],
  ] as const) {
    await page.getByLabel(mood).first().check();
    await page.getByLabel('Note (optional)').first().fill(note);
    await page.getByRole('button', { name: 'Save check-in' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  }
  const first = page.locator('ul.history > li').filter({ hasText: 'first' });
  await first.getByRole('button', { name: 'Edit' }).click();
  // The entry turns into its edit form, filled in (the note is now a field's value, not text).
  const editing = page.locator('ul.history form');
  expect(await editing.getByLabel('Note (optional)').inputValue()).toBe('first');
  await editing.getByText('Energy, anxiety and sleep (optional)').click();
  await editing.getByRole('group', { name: 'Anxiety' }).getByLabel('A lot', { exact: true }).check();
  await screenshot(page, 'mood-edit', 'also');
  await editing.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('status').filter({ hasText: 'Changes saved.' }).waitFor();
  await page.locator('ul.history > li').filter({ hasText: 'anxiety 4/5' }).waitFor();
  const second = page.locator('ul.history > li').filter({ hasText: 'second' });
  await second.getByRole('button', { name: 'Delete' }).click();
  await second.getByRole('button', { name: 'Delete' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /Deleted the check-in/ })
    .waitFor();
  expect(await page.locator('ul.history > li').filter({ hasText: 'second' }).count()).toBe(0);
  await page.getByRole('table', { name: /Mood, last 30 days/ }).waitFor({ state: 'attached' });
  await screenshot(page, 'mood-history', 'also');

  // Insights: too few records for patterns, and it says how many more.
  await page.goto('/#/insights');
  await page.getByRole('heading', { name: 'Not enough data yet' }).waitFor();
  await page.getByText('needs 4 check-ins in the last 7 days; you have 1').waitFor();
  await screenshot(page, 'insights', 'also');

  // Signed in: everything reaches the server once, and nothing alerted anyone.
  await signUpInApp(page, `questionnaire-${Date.now()}@example.org`);
  const serverResults = () =>
    e2e.server.queryPostgres<{ total: number; answers: number[] }>(
      'select total, answers from screener_results where id = $1',
      [stored?.id],
    );
  await expect.poll(async () => (await serverResults()).length, { timeout: 20_000 }).toBe(1);
  await expect.poll(() => readIndexedDb(page, 'outbox'), { timeout: 20_000 }).toEqual([]);
  expect(await serverResults()).toEqual([{ total: 11, answers: PHQ9_ANSWERS }]);
  const moods = await e2e.server.queryPostgres<{ note: string; anxiety: number | null; deleted: boolean }>(
    'select note, anxiety, deleted_at is not null as deleted from mood_entries order by note',
  );
  expect(moods).toEqual([
    { note: 'first', anxiety: 4, deleted: false },
    { note: 'second', anxiety: null, deleted: true },
  ]);
  const [counts] = await e2e.server.queryPostgres<{ alerts: number; incidents: number }>(
    `select (select count(*)::int from alert_logs) as alerts,
            (select count(*)::int from emergency_incidents) as incidents`,
  );
  expect(counts).toEqual({ alerts: 0, incidents: 0 });
});
