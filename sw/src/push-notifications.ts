/**
 * Web Push alerts (issue #5): when someone who lists this user as an emergency contact needs help, the server
 * (sync-server/src/alerts/web-push/web-push-sender.ts) pushes `{kind, incidentId, title, body, url}` and this
 * worker shows it; a tap opens the incident's page `/a/<token>`.
 *
 * - Every push shows a notification (we subscribe with userVisibleOnly; a silent push would cost the permission).
 *   A payload this worker cannot read (a newer server, a bug) still shows a generic alert: never drop one.
 * - `tag` = the incident, so an escalation, location update or all-clear replaces that incident's notification
 *   instead of stacking; alerts and escalations ring again (`renotify`) and stay until handled
 *   (`requireInteraction`), follow-ups replace quietly.
 * - Only a same-origin URL is opened; anything else opens the app.
 * - Once the notification is shown, a payload with a receipt token is reported to the server (SPEC AL31,
 *   alert-receipts.ts): only that makes the user's ledger say "shown on their phone". Never before
 *   showNotification resolved, and never for a payload the worker could not read.
 */
import { AlertPush } from '@vitalwatch/schema/protocol/alert-push';
import { AlertReceipt } from '@vitalwatch/schema/protocol/alert-receipt';
import {
  ALERT_RECEIPTS_SYNC_TAG,
  cacheReceiptStore,
  flushReceipts,
  reportShown,
  type WorkerReceiptDeps,
} from './alert-receipts.ts';
import { renewAlertSubscription } from './push-renewal.ts';
import { createSessionTokens } from '@vitalwatch/web/sync/auth-session.ts';
import { openLocalDb } from '@vitalwatch/web/sync/local-db.ts';

const URGENT_KINDS = new Set(['alert', 'escalation']);
const GENERIC_TITLE = 'VitalWatch alert';
const GENERIC_BODY = 'Someone who lists you as an emergency contact may need help. Open VitalWatch.';

/** Options Chromium honours that TypeScript's WebWorker lib does not list. */
type AlertNotificationOptions = NotificationOptions & { renotify?: boolean; vibrate?: number[] };

function sameOriginUrl(sw: ServiceWorkerGlobalScope, raw: unknown): string {
  try {
    const url = new URL(typeof raw === 'string' ? raw : '/', sw.location.origin);
    return url.origin === sw.location.origin ? url.href : `${sw.location.origin}/`;
  } catch {
    return `${sw.location.origin}/`;
  }
}

function notificationFor(
  sw: ServiceWorkerGlobalScope,
  data: PushMessageData | null,
): { title: string; options: AlertNotificationOptions; receipt: AlertReceipt | null } {
  let json: unknown;
  try {
    json = data?.json();
  } catch {
    json = undefined;
  }
  const parsed = AlertPush.safeParse(json);
  const push = parsed.success ? parsed.data : null;
  const urgent = push === null || URGENT_KINDS.has(push.kind);
  let text = '';
  try {
    text = data?.text().slice(0, 300) ?? '';
  } catch {
    // No readable text: the generic body below.
  }
  const receipt = AlertReceipt.safeParse({ incidentId: push?.incidentId, receipt: push?.receipt });
  return {
    receipt: receipt.success ? receipt.data : null,
    title: push?.title ?? GENERIC_TITLE,
    options: {
      body: push?.body ?? (json === undefined && text.trim() !== '' ? text : GENERIC_BODY),
      tag: push?.incidentId ?? 'vitalwatch-alert',
      renotify: urgent,
      requireInteraction: urgent,
      icon: '/pwa-192x192.png',
      data: { url: sameOriginUrl(sw, push?.url) },
      ...(urgent && { vibrate: [300, 100, 300, 100, 300] }),
    },
  };
}

async function focusOrOpen(sw: ServiceWorkerGlobalScope, url: string): Promise<void> {
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((client) => client.url === url);
  if (open !== undefined) {
    await open.focus();
    return;
  }
  await sw.clients.openWindow(url);
}

function workerReceiptDeps(sw: ServiceWorkerGlobalScope): WorkerReceiptDeps {
  return {
    origin: sw.location.origin,
    fetch: (input, init) => sw.fetch(input, init),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
    store: cacheReceiptStore(sw.caches, sw.location.origin),
    async requestSync() {
      const sync = (sw.registration as { sync?: { register(tag: string): Promise<void> } }).sync;
      await sync?.register(ALERT_RECEIPTS_SYNC_TAG);
    },
  };
}

/** Not in TypeScript's WebWorker lib yet. */
type PushSubscriptionChangeEvent = ExtendableEvent & {
  readonly oldSubscription: PushSubscription | null;
  readonly newSubscription: PushSubscription | null;
};

/** Re-registers a subscription the push service replaced, for the account signed in on this device. */
async function renewSubscription(sw: ServiceWorkerGlobalScope, event: PushSubscriptionChangeEvent) {
  const db = openLocalDb();
  try {
    const tokens = createSessionTokens({ db, now: () => Date.now() });
    const outcome = await renewAlertSubscription({
      pushManager: sw.registration.pushManager,
      oldSubscription: event.oldSubscription,
      newSubscription: event.newSubscription,
      origin: sw.location.origin,
      accessToken: await tokens.getAccessToken().catch(() => null),
    });
    if (!outcome.ok) console.warn(`VitalWatch: alerts subscription not renewed: ${outcome.message}`);
  } finally {
    db.close();
  }
}

export function installPushNotifications(sw: ServiceWorkerGlobalScope): void {
  sw.addEventListener('pushsubscriptionchange', (event) => {
    const change = event as PushSubscriptionChangeEvent;
    change.waitUntil(renewSubscription(sw, change));
  });

  sw.addEventListener('push', (event) => {
    const { title, options, receipt } = notificationFor(sw, event.data);
    const receipts = workerReceiptDeps(sw);
    event.waitUntil(
      sw.registration.showNotification(title, options).then(async () => {
        // Receipts still waiting from an earlier push go first: this one may be on a working link at last.
        await flushReceipts(receipts).catch(() => undefined);
        if (receipt !== null) await reportShown(receipts, receipt);
      }),
    );
  });

  sw.addEventListener('sync', (event) => {
    const sync = event as ExtendableEvent & { readonly tag: string };
    if (sync.tag !== ALERT_RECEIPTS_SYNC_TAG) return;
    // Rejecting tells Chromium to try this sync again later (with its own backoff).
    sync.waitUntil(
      flushReceipts(workerReceiptDeps(sw)).then((waiting) => {
        if (waiting > 0) throw new Error(`${waiting} alert receipts still waiting`);
      }),
    );
  });

  sw.addEventListener('notificationclick', (event) => {
    event.notification.close();
    const data: unknown = event.notification.data;
    const url = sameOriginUrl(
      sw,
      typeof data === 'object' && data !== null && 'url' in data ? data.url : '/',
    );
    event.waitUntil(focusOrOpen(sw, url));
  });
}
