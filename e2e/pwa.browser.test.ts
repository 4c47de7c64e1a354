/**
 * The installable-PWA contract (issue #4 items 1 and 6) in real Chromium against the real server: the service
 * worker installs on the first visit and serves the app with no network; server-owned paths never get the cached
 * app shell; a new deployment raises the in-app update prompt and the new worker waits for the user's click.
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { useBrowserSuite } from './harness/browser-suite.ts';
import {
  openControlledPage,
  waitForServiceWorkerActive,
  waitForServiceWorkerControl,
} from './harness/service-worker.ts';

const e2e = useBrowserSuite({ buildId: 'A' });

function buildOf(page: Page): Promise<string | null> {
  return page.locator('html').getAttribute('data-build');
}

async function registrationState(page: Page) {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    return {
      active: registration?.active?.state ?? null,
      waiting: registration?.waiting?.state ?? null,
      controlled: navigator.serviceWorker.controller !== null,
    };
  });
}

it('the first visit installs the service worker, and after a reload it controls the page', async () => {
  const page = await e2e.context.newPage();
  const first = await page.goto('/');
  expect(first?.fromServiceWorker()).toBe(false);
  expect(await buildOf(page)).toBe('A');
  await waitForServiceWorkerActive(page);

  const second = await page.reload();
  await waitForServiceWorkerControl(page);
  expect(second?.fromServiceWorker()).toBe(true);
  expect(await registrationState(page)).toEqual({ active: 'activated', waiting: null, controlled: true });
  await expect.poll(() => buildOf(page)).toBe('A');
});

it('offline, a reload, a deep link and the SOS shortcut still open the app from the cache', async () => {
  const page = await openControlledPage(e2e.context);
  await e2e.context.setOffline(true);

  await page.reload();
  await page.getByRole('button', { name: /SOS/ }).first().waitFor();
  expect(await buildOf(page)).toBe('A');

  // Paths the server never built a file for (a deep link; the manifest's SOS shortcut with its query): the
  // navigation fallback serves the precached index.html, and the app's script runs.
  for (const path of ['/some/app/route', '/?sos=1']) {
    const response = await page.goto(path);
    expect(response?.fromServiceWorker(), path).toBe(true);
    await expect.poll(() => buildOf(page), { message: path }).toBe('A');
  }
});

it('offline, server-owned paths fail instead of getting the app shell', async () => {
  const page = await openControlledPage(e2e.context);
  // Online they reach the server: /healthz answers its own JSON, not the page.
  const health = await page.goto('/healthz');
  expect(health?.fromServiceWorker()).toBe(false);
  expect(await health?.json()).toMatchObject({ status: 'ok' });

  await page.goto('/');
  await e2e.context.setOffline(true);
  // fetch() from a controlled page is not a navigation: it fails rather than being answered from the cache.
  const fetched = await page.evaluate(() =>
    fetch('/healthz').then(
      (response) => `HTTP ${response.status}`,
      (error: unknown) => `failed: ${String(error)}`,
    ),
  );
  expect(fetched).toMatch(/^failed/);
  for (const path of ['/healthz', '/config.json', '/auth/v1/user', '/sync/events', '/api/v1/me', '/a/X7K2']) {
    await expect(page.goto(path), path).rejects.toThrow(/ERR_INTERNET_DISCONNECTED/);
  }
});

it('a new build raises the update prompt; the new worker waits for "Update now", which reloads into it', async () => {
  const [page, buildB] = await Promise.all([openControlledPage(e2e.context), e2e.buildWeb('B')]);
  expect(await buildOf(page)).toBe('A');

  await e2e.server.restart({ webDist: buildB.dir });
  try {
    // A navigation makes Chromium check sw.js; the page itself still comes from the old worker's cache.
    await page.reload();
    const prompt = page.getByRole('alert').filter({ hasText: 'Update available' });
    await prompt.waitFor({ timeout: 15_000 });
    const updateNow = prompt.getByRole('button', { name: 'Update now' });
    await expect.poll(() => updateNow.isVisible()).toBe(true);

    // Installed but not activated: the page and any new tab keep running build A until the user agrees.
    expect(await registrationState(page)).toEqual({
      active: 'activated',
      waiting: 'installed',
      controlled: true,
    });
    expect(await buildOf(page)).toBe('A');
    const otherTab = await e2e.context.newPage();
    await otherTab.goto('/');
    await expect.poll(() => buildOf(otherTab)).toBe('A');
    await otherTab.close();
    expect((await registrationState(page)).waiting).toBe('installed');

    await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), updateNow.click()]);
    await expect.poll(() => buildOf(page)).toBe('B');
    expect(await registrationState(page)).toEqual({ active: 'activated', waiting: null, controlled: true });
  } finally {
    // Later tests in this file expect build A.
    await e2e.server.restart({ webDist: e2e.build.dir });
  }
});
