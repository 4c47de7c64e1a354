/**
 * Registers the service worker and says when a new one waits (ADR 0034: the browser's own API in place of
 * workbox-window, whose 2.2 KB gzip the first visit cannot carry). The worker (sw/src/sw.ts) never activates by
 * itself: a new one installs and waits until the user accepts, then `activateWaiting` posts SKIP_WAITING and the
 * page reloads once the new worker controls it. Only an update waits: on the very first visit there is no
 * controller, and the first worker activates at once.
 */
import { createSignal, type Accessor } from 'solid-js';

export interface ServiceWorkerUpdates {
  /** A new worker is installed and waiting for the user. */
  readonly waiting: Accessor<boolean>;
  /** Activates the waiting worker and reloads the page into it. */
  activateWaiting(): void;
}

export function registerServiceWorker(url: string): ServiceWorkerUpdates {
  const [waiting, setWaiting] = createSignal(false);
  let registration: ServiceWorkerRegistration | undefined;
  const container = 'serviceWorker' in navigator ? navigator.serviceWorker : undefined;
  // An update, not a first install: a worker waits while another already controls this page.
  const check = () => setWaiting(registration?.waiting != null && container?.controller != null);
  if (container !== undefined) {
    void container
      .register(url, { scope: '/' })
      .then((registered) => {
        registration = registered;
        check();
        registered.addEventListener('updatefound', () => {
          const installing = registered.installing;
          installing?.addEventListener('statechange', () => {
            if (installing.state === 'installed') check();
          });
        });
      })
      .catch((error: unknown) => console.error('VitalWatch: the service worker did not register', error));
  }
  return {
    waiting,
    activateWaiting() {
      const next = registration?.waiting;
      if (container === undefined || next == null) return;
      container.addEventListener('controllerchange', () => window.location.reload(), { once: true });
      next.postMessage({ type: 'SKIP_WAITING' });
    },
  };
}
