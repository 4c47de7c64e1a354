/**
 * Cancelling an SOS countdown (issue #4 §3): with a cancel PIN set, a wrong PIN does not stop the countdown and
 * the right one does, leaving no incident; the duress PIN shows the same "cancelled" screen but records the
 * incident with a silent duress cancel for the server to escalate (issue #5).
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { readIndexedDb } from './harness/indexed-db.ts';

const e2e = useBrowserSuite({ contextOptions: { locale: 'en-GB' } });

async function setPins(page: Page): Promise<void> {
  await page.goto('/#/settings');
  await page.getByLabel(/Set a PIN to cancel an SOS/).fill('2468');
  await page.getByLabel(/Set a duress PIN/).fill('1357');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings saved.').waitFor();
  await page.goto('/');
}

type OutboxEntry = {
  name: string;
  args: { type?: string; duress?: boolean; fields?: Record<string, unknown> };
};

/**
 * The outbox without the PIN verifiers the settings screen queues for the account (SPEC AL20): those are checked
 * once, here, to be hashes and never the PIN itself.
 */
async function incidentOutbox(page: Page): Promise<OutboxEntry[]> {
  const outbox = await readIndexedDb<OutboxEntry>(page, 'outbox');
  const pins = outbox.filter((e) => e.name === 'settings.update@1');
  for (const entry of pins) {
    // Never the PIN as a value (a random hex salt or hash may contain its digits by chance).
    expect(JSON.stringify(entry.args)).not.toMatch(/"(2468|1357)"|:(2468|1357)\b/);
    for (const verifier of Object.values(entry.args.fields ?? {})) {
      expect(verifier).toMatchObject({ salt: expect.any(String), hash: expect.any(String) });
    }
  }
  return outbox.filter((e) => e.name !== 'settings.update@1');
}

async function startCountdown(page: Page): Promise<void> {
  await page.getByRole('button', { name: /SOS/ }).click();
  await page.getByRole('timer', { name: 'SOS countdown' }).waitFor();
}

async function cancelWith(page: Page, pin: string): Promise<void> {
  await page.getByLabel('PIN to cancel').fill(pin);
  await page.getByRole('button', { name: 'Cancel SOS' }).click();
}

it('a wrong PIN keeps the countdown going; the right PIN cancels it and nothing is recorded', async () => {
  const page = await e2e.context.newPage();
  await page.goto('/');
  await setPins(page);

  await startCountdown(page);
  await cancelWith(page, '0000');
  await page.getByText('That PIN is not right. The countdown continues.').waitFor();
  expect(await page.getByRole('timer', { name: 'SOS countdown' }).isVisible()).toBe(true);

  await cancelWith(page, '2468');
  await page.getByRole('heading', { name: 'SOS cancelled' }).waitFor();
  expect(await readIndexedDb(page, 'emergency_incidents')).toEqual([]);
  expect(await incidentOutbox(page)).toEqual([]);
});

it('the duress PIN looks like a cancel but records the incident with a duress cancel', async () => {
  const page = await e2e.context.newPage();
  await page.goto('/');
  await setPins(page);

  await startCountdown(page);
  await cancelWith(page, '1357');
  await page.getByRole('heading', { name: 'SOS cancelled' }).waitFor();
  expect(await page.getByText('No one was alerted.').isVisible()).toBe(true);

  const incidents = await readIndexedDb<{ id: string; status: string }>(page, 'emergency_incidents');
  expect(incidents.map((i) => i.status)).toEqual(['cancelled']);
  const outbox = await incidentOutbox(page);
  expect(outbox.map((e) => [e.name, e.args.type, e.args.duress])).toEqual([
    ['incident.trigger@1', undefined, undefined],
    ['incident.event@1', 'cancelled', true],
  ]);
});

it('with only a duress PIN set, the countdown still offers the PIN field, and the duress PIN works', async () => {
  const page = await e2e.context.newPage();
  await page.goto('/#/settings');
  await page.getByLabel(/Set a duress PIN/).fill('1357');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings saved.').waitFor();
  await page.goto('/');

  await startCountdown(page);
  await cancelWith(page, '1357');
  await page.getByRole('heading', { name: 'SOS cancelled' }).waitFor();
  const outbox = await incidentOutbox(page);
  expect(outbox.map((e) => [e.name, e.args.duress])).toEqual([
    ['incident.trigger@1', undefined],
    ['incident.event@1', true],
  ]);
});
