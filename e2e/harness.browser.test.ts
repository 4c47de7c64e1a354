/**
 * The harness's own promises, which the SOS-flow tests build on: a CDP sync event reaches the service worker, a
 * route handler sees (and can hold or fail) the worker's own requests, and IndexedDB can be read from a page.
 */
import { expect, it } from 'vitest';
import type { Worker } from 'playwright-core';
import { useBrowserSuite } from './harness/browser-suite.ts';
import { listIndexedDbStores, readIndexedDb } from './harness/indexed-db.ts';
import { shapeRequests } from './harness/network.ts';
import { dispatchSyncEvent, OfflineSyncDispatchError, openControlledPage } from './harness/service-worker.ts';

const e2e = useBrowserSuite({ buildId: 'harness' });

function theServiceWorker(): Worker {
  const [worker] = e2e.context.serviceWorkers();
  if (worker === undefined) throw new Error('no service worker in the context');
  return worker;
}

it('dispatchSyncEvent fires a sync event with the tag in the service worker, and never fakes "online"', async () => {
  const page = await openControlledPage(e2e.context);
  const worker = theServiceWorker();
  // A listener added after the script's first run still hears events while the worker is alive (Chromium warns).
  await worker.evaluate(() => {
    const scope = globalThis as unknown as { syncTags: string[] };
    scope.syncTags = [];
    globalThis.addEventListener('sync', (event) =>
      scope.syncTags.push((event as Event & { tag: string }).tag),
    );
  });
  const syncTags = () => worker.evaluate(() => (globalThis as unknown as { syncTags: string[] }).syncTags);
  await dispatchSyncEvent(page, 'vw-e2e-sync');
  await expect.poll(syncTags).toEqual(['vw-e2e-sync']);

  await page.evaluate(() => {
    const events: string[] = [];
    (window as unknown as { networkEvents: string[] }).networkEvents = events;
    addEventListener('online', () => events.push('online'));
    addEventListener('offline', () => events.push('offline'));
  });
  await e2e.context.setOffline(true);
  await expect(dispatchSyncEvent(page, 'while-offline')).rejects.toThrow(OfflineSyncDispatchError);
  expect(
    await page.evaluate(() => ({
      online: navigator.onLine,
      events: (window as unknown as { networkEvents: string[] }).networkEvents,
    })),
  ).toEqual({ online: false, events: ['offline'] });

  await e2e.context.setOffline(false);
  await dispatchSyncEvent(e2e.context, 'from-the-context');
  await expect.poll(syncTags).toEqual(['vw-e2e-sync', 'from-the-context']);
});

it("shapeRequests holds, fails and logs the service worker's own requests", async () => {
  await openControlledPage(e2e.context);
  const worker = theServiceWorker();
  const held = await shapeRequests(e2e.context, { match: '/healthz', hold: true });
  const fetched = worker.evaluate(() => fetch('/healthz').then((response) => response.status));
  await expect.poll(() => held.requests.length).toBe(1);
  expect(held.requests[0]).toMatchObject({ method: 'GET', fromServiceWorker: true });
  const settled = await Promise.race([
    fetched,
    new Promise((resolve) => setTimeout(() => resolve('held'), 300)),
  ]);
  expect(settled).toBe('held');
  held.release();
  expect(await fetched).toBe(200);
  await held.remove();

  const failing = await shapeRequests(e2e.context, { match: '/sync/', status: 503 });
  expect(await worker.evaluate(() => fetch('/sync/pull', { method: 'POST' }).then((r) => r.status))).toBe(
    503,
  );
  await failing.remove();

  await e2e.context.setOffline(true);
  const offline = await worker.evaluate(() =>
    fetch('/healthz').then(
      () => 'answered',
      () => 'failed',
    ),
  );
  expect(offline).toBe('failed');
});

it('readIndexedDb reads every record of a store; a missing database is not created', async () => {
  const page = await e2e.context.newPage();
  await page.goto('/');
  expect(await listIndexedDbStores(page, 'e2e-probe')).toBeNull();
  expect(await listIndexedDbStores(page, 'e2e-probe')).toBeNull();
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const request = indexedDB.open('e2e-probe', 1);
        request.onupgradeneeded = () => request.result.createObjectStore('things', { keyPath: 'id' });
        request.onsuccess = () => {
          const tx = request.result.transaction('things', 'readwrite');
          tx.objectStore('things').put({ id: 'a', at: new Date(0) });
          tx.objectStore('things').put({ id: 'b', n: 2 });
          tx.oncomplete = () => {
            request.result.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error ?? new Error('put failed'));
        };
        request.onerror = () => reject(request.error ?? new Error('open failed'));
      }),
  );
  expect(await listIndexedDbStores(page, 'e2e-probe')).toEqual(['things']);
  expect(await readIndexedDb(page, 'things', 'e2e-probe')).toEqual([
    { id: 'a', at: new Date(0) },
    { id: 'b', n: 2 },
  ]);
  await expect(readIndexedDb(page, 'nope', 'e2e-probe')).rejects.toThrow(/no object store nope/);
});
