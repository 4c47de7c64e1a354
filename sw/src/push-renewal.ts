/**
 * `pushsubscriptionchange` in the service worker (sw/src/push-notifications.ts): the push service expired or
 * rotated this device's subscription, and alerts would silently stop.
 */
import {
  base64UrlBytes,
  describe,
  register,
  VapidKeyResponse,
  type Fetch,
  type SubscribeOutcome,
} from '@vitalwatch/web/sync/push-registration.ts';

/**
 * `pushsubscriptionchange` in the service worker: the push service expired or rotated this device's subscription,
 * and alerts would silently stop. Subscribes again with the same server key when the browser has not done it
 * already (Chromium hands no new subscription), registers the new endpoint for the signed-in account and drops
 * the old one. Signed out (`accessToken` null), the new subscription waits for the settings screen to send it.
 */
export async function renewAlertSubscription(deps: {
  pushManager: Pick<PushManager, 'getSubscription' | 'subscribe'>;
  oldSubscription: PushSubscription | null;
  newSubscription: PushSubscription | null;
  origin: string;
  accessToken: string | null;
  fetch?: Fetch;
}): Promise<SubscribeOutcome> {
  const doFetch: Fetch = deps.fetch ?? ((input, init) => fetch(input, init));
  try {
    let subscription = deps.newSubscription ?? (await deps.pushManager.getSubscription());
    if (subscription === null) {
      let key: BufferSource | null = deps.oldSubscription?.options.applicationServerKey ?? null;
      if (key === null) {
        const response = await doFetch(`${deps.origin}/push/vapid-public-key`, { cache: 'no-store' });
        if (!response.ok)
          return { ok: false, reason: 'server', message: `no server key (HTTP ${response.status})` };
        key = base64UrlBytes(VapidKeyResponse.parse(await response.json()).publicKey);
      }
      subscription = await deps.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    }
    if (deps.accessToken === null)
      return { ok: false, reason: 'signed_out', message: 'Sign in again to turn on alerts.' };
    const outcome = await register(deps.origin, deps.accessToken, subscription, doFetch);
    const old = deps.oldSubscription?.endpoint;
    if (outcome.ok && old !== undefined && old !== subscription.endpoint) {
      await doFetch(`${deps.origin}/push/subscriptions`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${deps.accessToken}` },
        body: JSON.stringify({ endpoint: old }),
      }).catch(() => undefined);
    }
    return outcome;
  } catch (error) {
    return { ok: false, reason: 'push_service', message: describe(error) };
  }
}
