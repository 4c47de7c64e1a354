/**
 * VitalWatch service worker (built by vite-plugin-pwa's injectManifest into web/dist/sw.js).
 *
 * Invariants:
 * - Every build artefact listed in the injected precache manifest is served cache-first, so the app shell
 *   (including the SOS screen) opens with no network at all.
 * - Navigations fall back to the precached index.html, except server-owned paths (auth, sync, storage,
 *   webhooks, short links, health, runtime config, api): those must always reach the server, never a stale
 *   shell.
 * - A new worker never activates on its own. It waits until the page posts {type: 'SKIP_WAITING'} after the
 *   user accepts the update, so an open tab (possibly mid-SOS) is never switched to new code underneath it.
 *   Hence no skipWaiting() at install and no clients.claim().
 * - A Background Sync event tagged BACKGROUND_SYNC_TAG pushes the outbox and pulls, with the page's session,
 *   even when no page is open (web/src/sync/background-sync.ts).
 */
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { SERVER_PATH_PREFIXES } from '@vitalwatch/schema/server-paths';
import { BACKGROUND_SYNC_TAG, syncInBackground } from '@vitalwatch/web/sync/background-sync.ts';
import { installPushNotifications } from './push-notifications.ts';

declare let self: ServiceWorkerGlobalScope;

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

registerRoute(
  new NavigationRoute(createHandlerBoundToURL('index.html'), {
    denylist: SERVER_PATH_PREFIXES.map((prefix) => new RegExp(`^${prefix.replaceAll('.', '\\.')}`)),
  }),
);

function isSkipWaitingMessage(data: unknown): boolean {
  return typeof data === 'object' && data !== null && 'type' in data && data.type === 'SKIP_WAITING';
}

self.addEventListener('message', (event) => {
  if (isSkipWaitingMessage(event.data)) {
    void self.skipWaiting();
  }
});

/** Background Sync's event (Chromium only; not in TypeScript's WebWorker lib). */
interface SyncEvent extends ExtendableEvent {
  readonly tag: string;
}

self.addEventListener('sync', (event) => {
  const sync = event as SyncEvent;
  if (sync.tag === BACKGROUND_SYNC_TAG) sync.waitUntil(syncInBackground());
});

installPushNotifications(self);
