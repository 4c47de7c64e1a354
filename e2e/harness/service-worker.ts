/**
 * Service-worker helpers for pages of the app under test.
 *
 * Our worker never calls clients.claim() (sw/src/sw.ts), so the page that registers it is not controlled: only the
 * next navigation is. openControlledPage() does the install-then-reload a returning user would see.
 */
import type { BrowserContext, Page } from 'playwright-core';

/** Resolves once the page's registration has an active worker (navigator.serviceWorker.ready). */
export async function waitForServiceWorkerActive(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
}

/** Resolves once a service worker controls the page (navigator.serviceWorker.controller is set). */
export async function waitForServiceWorkerControl(
  page: Page,
  options: { timeout?: number } = {},
): Promise<void> {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, {
    timeout: options.timeout ?? 15_000,
  });
}

/**
 * A new page at `path` (default '/') controlled by the app's service worker: first visit installs it, a reload
 * puts the page under its control.
 */
export async function openControlledPage(context: BrowserContext, path = '/'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(path);
  await waitForServiceWorkerActive(page);
  await page.reload();
  await waitForServiceWorkerControl(page);
  return page;
}

interface RegistrationEvent {
  registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[];
}

export class OfflineSyncDispatchError extends Error {}

/**
 * Fires a Background Sync `sync` event with `tag` at the app's service worker, as Chromium does when the network
 * returns (CDP ServiceWorker.dispatchSyncEvent; the registration id comes from ServiceWorker.enable's
 * workerRegistrationUpdated events). Resolves once Chromium has dispatched it, not when the worker's handler has
 * finished: wait for the handler's effect (a request, a row) instead.
 *
 * Measured in Chromium 156 (e2e/harness.browser.test.ts):
 * - while the context is offline Chromium drops the event silently, so this throws OfflineSyncDispatchError
 *   instead (a sync the app registered while offline fires by itself after context.setOffline(false));
 * - detaching a CDP session from a page flips that page's navigator.onLine to true and fires 'online' even
 *   though the context is still offline. So the session is attached to a throwaway about:blank page, never to
 *   the app's pages.
 *
 * `target` is a page of the app (its origin is used) or the context (pass `origin`, else the first http(s) page's).
 */
export async function dispatchSyncEvent(
  target: BrowserContext | Page,
  tag: string,
  options: { origin?: string; lastChance?: boolean; timeout?: number } = {},
): Promise<void> {
  const context = 'pages' in target ? target : target.context();
  const pageUrl =
    'pages' in target
      ? target
          .pages()
          .find((p) => /^https?:/.test(p.url()))
          ?.url()
      : target.url();
  const origin = options.origin ?? (pageUrl === undefined ? undefined : new URL(pageUrl).origin);
  if (origin === undefined) throw new Error('dispatchSyncEvent: no app page in the context; pass { origin }');
  const scope = `${origin}/`;
  const helper = await context.newPage();
  try {
    if (!(await helper.evaluate(() => navigator.onLine))) {
      throw new OfflineSyncDispatchError(
        'dispatchSyncEvent while the context is offline: Chromium would drop the event. Go online first.',
      );
    }
    const session = await context.newCDPSession(helper);
    const timeout = options.timeout ?? 10_000;
    const registrationId = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no service worker registration for ${scope} within ${timeout} ms`)),
        timeout,
      );
      session.on('ServiceWorker.workerRegistrationUpdated', (event: RegistrationEvent) => {
        const registration = event.registrations.find((r) => !r.isDeleted && r.scopeURL === scope);
        if (registration !== undefined) {
          clearTimeout(timer);
          resolve(registration.registrationId);
        }
      });
      session.send('ServiceWorker.enable').catch((error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
    await session.send('ServiceWorker.dispatchSyncEvent', {
      origin,
      registrationId,
      tag,
      lastChance: options.lastChance ?? false,
    });
  } finally {
    await helper.close();
  }
}

interface RegistrationEvent {
  registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[];
}

/**
 * Delivers `data` to the app's service worker as a push message, as Chromium does when its push service hands one
 * over. The CDP session lives on a throwaway page (see dispatchSyncEvent in harness/service-worker.ts for why).
 */
export async function deliverPushMessage(
  context: BrowserContext,
  origin: string,
  data: string,
): Promise<void> {
  const helper = await context.newPage();
  try {
    const session = await context.newCDPSession(helper);
    const registrationId = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no service worker registration for ${origin}/`)),
        10_000,
      );
      session.on('ServiceWorker.workerRegistrationUpdated', (event: RegistrationEvent) => {
        const registration = event.registrations.find((r) => !r.isDeleted && r.scopeURL === `${origin}/`);
        if (registration !== undefined) {
          clearTimeout(timer);
          resolve(registration.registrationId);
        }
      });
      session.send('ServiceWorker.enable').catch((error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
    await session.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data });
  } finally {
    await helper.close();
  }
}
