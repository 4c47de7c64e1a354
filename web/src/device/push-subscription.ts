/**
 * Web Push on this device, for alerts to a user who is someone's emergency contact (issue #5). Framework-free:
 * the settings section (screens/alert-subscription-section.tsx) drives it.
 *
 * Subscribing: notification permission → the server's VAPID key (`GET /push/vapid-public-key`) → the service
 * worker's pushManager.subscribe({ userVisibleOnly: true }) → `POST /push/subscriptions` with the caller's token.
 * A browser subscription made with an older server key is replaced (subscribe() with a new key would throw).
 * The server owns the endpoint → user mapping: posting again (e.g. after another account signs in here) moves
 * the endpoint to the account signed in now.
 *
 * Unsubscribing ends the browser's subscription first (what the user asked for happens even offline); telling the
 * server is best effort, because a push to a dead endpoint gets 410 and the server drops it then.
 */
import {
  base64UrlBytes,
  describe,
  register,
  VapidKeyResponse,
  type SubscribeOutcome,
} from '../sync/push-registration.ts';

export type { SubscribeOutcome };

export type AlertSubscriptionState =
  /** No service worker, Push API or Notifications here (e.g. iOS Safari outside an installed Home Screen app). */
  | 'unsupported'
  /** The user blocked notifications for this site; only the browser's settings can undo that. */
  | 'denied'
  | 'subscribed'
  | 'not_subscribed';

const SERVICE_WORKER_TIMEOUT_MS = 10_000;

function supported(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    'serviceWorker' in navigator &&
    typeof PushManager !== 'undefined' &&
    typeof Notification !== 'undefined'
  );
}

function sameBytes(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (a === null || a.byteLength !== b.length) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}

async function readyRegistration(): Promise<ServiceWorkerRegistration> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error('the service worker is not installed yet; reload the app and try again')),
      SERVICE_WORKER_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([navigator.serviceWorker.ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function currentSubscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.getRegistration();
  return (await registration?.pushManager.getSubscription()) ?? null;
}

export async function alertSubscriptionState(): Promise<AlertSubscriptionState> {
  if (!supported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  if (Notification.permission !== 'granted') return 'not_subscribed';
  return (await currentSubscription()) === null ? 'not_subscribed' : 'subscribed';
}

/**
 * Asks for notification permission if needed, subscribes this browser and registers it for the signed-in user.
 * `origin` is the server's ('' = this page's).
 */
export async function subscribeToAlerts(origin: string, accessToken: string): Promise<SubscribeOutcome> {
  if (!supported())
    return { ok: false, reason: 'unsupported', message: 'This browser cannot receive alerts.' };
  const permission = await Notification.requestPermission();
  if (permission !== 'granted')
    return {
      ok: false,
      reason: 'denied',
      message:
        permission === 'denied'
          ? "Notifications are blocked for VitalWatch. Allow them in the browser's site settings, then try again."
          : 'Notifications were not allowed. Tap the button again to be asked once more.',
    };
  try {
    const keyResponse = await fetch(`${origin}/push/vapid-public-key`, { cache: 'no-store' });
    if (!keyResponse.ok)
      return {
        ok: false,
        reason: 'server',
        message: `The server cannot send alerts (HTTP ${keyResponse.status}).`,
      };
    const key = base64UrlBytes(VapidKeyResponse.parse(await keyResponse.json()).publicKey);
    const registration = await readyRegistration();
    let subscription = await registration.pushManager.getSubscription();
    if (subscription !== null && !sameBytes(subscription.options.applicationServerKey, key)) {
      // Made with a key the server no longer has: useless, and it blocks subscribing with the new one.
      await subscription.unsubscribe();
      subscription = null;
    }
    if (subscription === null) {
      try {
        subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: key,
        });
      } catch (error) {
        return {
          ok: false,
          reason: 'push_service',
          message: `The browser's push service could not subscribe this device (${describe(error)}). Try again later; alerts still reach you by SMS.`,
        };
      }
    }
    return await register(origin, accessToken, subscription);
  } catch (error) {
    if (!navigator.onLine)
      return {
        ok: false,
        reason: 'offline',
        message: 'You are offline. Turning on alerts needs a connection.',
      };
    return { ok: false, reason: 'server', message: `Could not turn on alerts: ${describe(error)}` };
  }
}

/**
 * Re-sends an existing subscription without prompting (after sign-in, or on opening settings), so the server maps
 * this browser to the account signed in now. Does nothing when the browser has no subscription.
 */
export async function refreshAlertSubscription(
  origin: string,
  accessToken: string,
): Promise<SubscribeOutcome> {
  if (!supported() || Notification.permission !== 'granted') return { ok: true };
  const subscription = await currentSubscription();
  if (subscription === null) return { ok: true };
  try {
    return await register(origin, accessToken, subscription);
  } catch (error) {
    return { ok: false, reason: 'offline', message: describe(error) };
  }
}

/** Ends this browser's subscription, then tells the server (best effort; `accessToken` null = signed out). */
export async function unsubscribeFromAlerts(origin: string, accessToken: string | null): Promise<void> {
  if (!supported()) return;
  const subscription = await currentSubscription();
  if (subscription === null) return;
  const { endpoint } = subscription;
  await subscription.unsubscribe();
  if (accessToken === null) return;
  try {
    await fetch(`${origin}/push/subscriptions`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ endpoint }),
    });
  } catch {
    // Offline: the next push to this endpoint gets 410 and the server removes it.
  }
}
