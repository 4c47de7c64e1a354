/**
 * "Download my data" and "Delete my account" (issue #18 items 6 and 7) in real Chromium against the real server on
 * a fresh Postgres database: Ama signs up on a phone, records a mood, signs in on a second device, downloads her
 * data (the archive is read back), deletes her account on the phone; the server then holds no row of hers in any
 * table, and the second device, at its next sync, erases its copy and says why.
 */
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { strFromU8, unzipSync } from 'fflate';
import { expect, it } from 'vitest';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { openControlledPage } from './harness/service-worker.ts';
import { readIndexedDb } from './harness/indexed-db.ts';
import { signInInApp, signUpInApp, TEST_PASSWORD } from './harness/app-account.ts';
import { screenshot } from './harness/screenshots.ts';
import { userDataTables } from '../sync-server/src/data-rights/user-data-tables.ts';

const e2e = useBrowserSuite({
  database: 'postgres',
  contextOptions: { viewport: { width: 360, height: 640 } },
});

/** The user's rows in every table that holds user data (derived from the schema, as the server deletes them). */
async function rowsOf(userId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of userDataTables()) {
    if (table.owner.kind === 'parent') throw new Error(`${table.name}: count it through its parent here`);
    const column = table.owner.column.name;
    const [row] = await e2e.server.queryPostgres<{ n: number }>(
      `select count(*)::int as n from ${table.name} where ${column} = $1`,
      [userId],
    );
    counts[table.name] = row?.n ?? 0;
  }
  return counts;
}

async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

it('[DR2][DR5][DR11][DR12] downloads the archive, deletes the account, and the second device erases its copy', async () => {
  const email = `ama-${randomBytes(4).toString('hex')}@example.org`;
  const phone = await openControlledPage(e2e.context, '/');
  await signUpInApp(phone, email);
  const [user] = await e2e.server.queryPostgres<{ id: string }>('select id from users where email = $1', [
    email,
  ]);
  const userId = user?.id ?? '';

  await phone.goto('/#/mood');
  await phone.getByLabel(/^2 ·/).check();
  await phone.getByLabel('Note (optional)').fill('slept badly, talked to Esi');
  await phone.getByRole('button', { name: 'Save check-in' }).click();
  await waitFor(
    'the mood on the server',
    () => rowsOf(userId),
    (c) => c.mood_entries === 1,
  );

  const tablet = await openControlledPage(await e2e.newContext(), '/');
  await signInInApp(tablet, email);
  await waitFor(
    'the mood on the second device',
    () => readIndexedDb<{ note: string }>(tablet, 'mood_entries'),
    (rows) => rows.length === 1,
  );

  // Download my data: the server's archive, read back.
  await phone.goto('/#/account');
  const [download] = await Promise.all([
    phone.waitForEvent('download'),
    phone.getByRole('button', { name: 'Download my data' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^vitalwatch-my-data-\d{4}-\d\d-\d\d\.zip$/);
  const archive = unzipSync(new Uint8Array(await readFile(await download.path())));
  const moods = JSON.parse(strFromU8(archive['tables/mood_entries.json'] ?? new Uint8Array())) as Array<{
    note: string;
    user_id: string;
  }>;
  expect(moods).toEqual([expect.objectContaining({ note: 'slept badly, talked to Esi', user_id: userId })]);
  const manifest = JSON.parse(strFromU8(archive['manifest.json'] ?? new Uint8Array())) as { userId: string };
  expect(manifest.userId).toBe(userId);
  await phone.getByText('Saved a ZIP file').waitFor();

  // Delete my account: the warning, the password, the last confirmation.
  const before = await rowsOf(userId);
  expect(before.users).toBe(1);
  await phone.getByRole('button', { name: 'Delete my account' }).click();
  await phone.getByText('This cannot be undone: download your data first').waitFor();
  await screenshot(phone, 'data-rights-warning', 'also');
  await phone.getByLabel('Your password').fill(TEST_PASSWORD);
  await phone.getByRole('button', { name: 'Continue' }).click();
  await phone.getByRole('button', { name: 'Yes, delete everything' }).click();
  await phone.getByText('Your account and everything in it were deleted from the server').waitFor();
  await screenshot(phone, 'data-rights-deleted', 'also');

  const after = await rowsOf(userId);
  expect(Object.entries(after).filter(([, n]) => n !== 0)).toEqual([]);
  expect(await readIndexedDb(phone, 'mood_entries')).toEqual([]);
  const [audit] = await e2e.server.queryPostgres<{ n: number }>(
    `select count(*)::int as n from account_deletions where (rows_deleted->>'mood_entries')::int = 1`,
  );
  expect(audit?.n).toBe(1);

  // The second device: its next sync learns the account is gone, erases its copy and says so.
  await tablet.reload();
  await tablet.getByTestId('account-deleted').waitFor({ timeout: 30_000 });
  await screenshot(tablet, 'data-rights-other-device', 'also');
  expect(await readIndexedDb(tablet, 'mood_entries')).toEqual([]);
  expect(await readIndexedDb(tablet, 'outbox')).toEqual([]);
  await tablet.goto('/#/account');
  await tablet.getByRole('button', { name: 'Create account' }).waitFor();

  // Signed out, "Download my data" saves what the device holds, built in the browser: nothing of Ama's is left.
  const [local] = await Promise.all([
    tablet.waitForEvent('download'),
    tablet.getByRole('button', { name: 'Download my data' }).click(),
  ]);
  expect(local.suggestedFilename()).toMatch(/^vitalwatch-this-device-\d{4}-\d\d-\d\d\.json$/);
  const snapshot = JSON.parse(await readFile(await local.path(), 'utf8')) as {
    format: string;
    tables: Record<string, unknown[]>;
  };
  expect(snapshot.format).toBe('vitalwatch-device-export@1');
  expect(snapshot.tables.mood_entries).toEqual([]);
  expect(JSON.stringify(snapshot)).not.toContain('slept badly');
});

it('[DR12] without an account, "Download my data" saves a JSON file of everything the device holds', async () => {
  const page = await openControlledPage(e2e.context, '/');
  await page.goto('/#/mood');
  await page.getByLabel(/^4 ·/).check();
  await page.getByLabel('Note (optional)').fill('a walk by the sea');
  await page.getByRole('button', { name: 'Save check-in' }).click();
  await page.getByText('a walk by the sea').waitFor();
  await page.goto('/#/account');
  await page.getByText('Download a file with everything VitalWatch holds on this device.').waitFor();
  expect(await page.getByRole('button', { name: 'Delete my account' }).count()).toBe(0);
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download my data' }).click(),
  ]);
  const snapshot = JSON.parse(await readFile(await file.path(), 'utf8')) as {
    tables: { mood_entries: Array<{ note: string; mood: number }>; outbox: unknown[] };
  };
  expect(snapshot.tables.mood_entries).toEqual([
    expect.objectContaining({ note: 'a walk by the sea', mood: 4 }),
  ]);
  await screenshot(page, 'data-rights-signed-out', 'also');
});
