/**
 * Alert delivery on the server (issue #5, ADR 0010): the dispatcher and its loop, the realtime hub, the
 * `/a/<token>` page, the receipts by which a contact's device says an alert is on its screen, the routes by which a
 * contact asks to get the alerts in their own account and the owner answers, and Twilio's webhooks when SMS is
 * configured. `registerAlerts` returns what the sync routes tell after each committed push (sync/pushed-changes.ts):
 * the incidents it created or changed wake the dispatcher at once, so an SOS is planned and its first SMS requested
 * within milliseconds, not at the next poll.
 */
import type { FastifyInstance } from 'fastify';
import type { UserId } from '@vitalwatch/schema/ids';
import type { Identity } from '../auth/identity.ts';
import type { Db } from '../db/database.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import type { OnPushed } from '../sync/pushed-changes.ts';
import { registerAckPageRoutes, type SignEvidenceUrl } from './ack-page-routes.ts';
import { registerAppLinkRoutes } from './app-link-routes.ts';
import { registerSosTestRoutes } from './sos-test-routes.ts';
import { registerContactAppLinkRoutes } from './contact-app-link-routes.ts';
import type { PushSender, SmsProvider } from './alert-channels.ts';
import { createAlertDispatcher, type AlertDispatcher } from './dispatcher.ts';
import { type AlertHub, supabaseRealtime } from './realtime.ts';
import { answerInboundOnce } from './inbound-sms-once.ts';
import { registerReceiptRoutes } from './receipt-routes.ts';
import type { SmsEventDeps } from './sms-event-deps.ts';
import { applySmsReply, applySmsStatus } from './sms-events.ts';
import { registerTwilioWebhooks } from './twilio/twilio-webhooks.ts';
import { registerPushSubscriptionRoutes } from './web-push/push-subscription-routes.ts';
import type { WebPushSender } from './web-push/web-push-sender.ts';

export type AlertsConfig = {
  sms: SmsProvider | null;
  /** Checks Twilio's webhooks; null when SMS is not Twilio (or not configured). */
  twilioWebhooks: { accountSid: string; authToken: string } | null;
  webPush: WebPushSender | null;
  /** Registers the Web Push subscription routes; null = no Web Push. */
  vapidPublicKey: string | null;
  /** Supabase Realtime broadcast instead of our own event stream. */
  supabaseRealtime: { url: string; serviceKey: string } | null;
  /** false: nothing runs by itself, tests call `tick()` with their own clock. */
  autoStart?: boolean;
  maxAttempts?: number;
  fullScanMs?: number;
  leaseMs?: number;
};

declare module 'fastify' {
  interface FastifyInstance {
    alerts: AlertDispatcher | null;
  }
}

export async function registerAlerts(
  app: FastifyInstance,
  deps: {
    db: Db;
    identity: Identity;
    pokes: Pokes;
    now: () => Date;
    publicUrl: string | null;
    hub: AlertHub;
    config: AlertsConfig;
    /** Signs evidence download links for the `/a/<token>` page; null = no evidence store. */
    signEvidenceUrl?: SignEvidenceUrl | null;
  },
): Promise<{ onPushed: OnPushed }> {
  const { config } = deps;
  const maxAttempts = config.maxAttempts ?? 8;
  const dispatcher = createAlertDispatcher({
    db: deps.db,
    pokes: deps.pokes,
    now: deps.now,
    publicUrl: deps.publicUrl,
    maxAttempts,
    ...(config.fullScanMs !== undefined && { fullScanMs: config.fullScanMs }),
    ...(config.leaseMs !== undefined && { leaseMs: config.leaseMs }),
    channels: {
      sms: config.sms,
      webPush: pushSender(config.webPush),
      realtime: config.supabaseRealtime === null ? deps.hub : supabaseRealtime(config.supabaseRealtime),
    },
    log: { error: (err, message) => app.log.error({ err }, message) },
  });
  app.decorate('alerts', dispatcher);
  const onChange = (incidentId: string) => dispatcher.incidentChanged(incidentId);

  if (config.vapidPublicKey !== null) {
    await registerPushSubscriptionRoutes(app, {
      db: deps.db,
      identity: deps.identity,
      vapidPublicKey: config.vapidPublicKey,
      now: deps.now,
    });
  }
  await registerAckPageRoutes(app, {
    db: deps.db,
    pokes: deps.pokes,
    now: deps.now,
    onChange,
    signEvidenceUrl: deps.signEvidenceUrl ?? null,
  });
  await registerReceiptRoutes(app, { db: deps.db, pokes: deps.pokes, now: deps.now });
  await registerSosTestRoutes(app, {
    db: deps.db,
    identity: deps.identity,
    now: deps.now,
    sms: config.sms,
  });
  await registerAppLinkRoutes(app, {
    db: deps.db,
    identity: deps.identity,
    pokes: deps.pokes,
    now: deps.now,
  });
  await registerContactAppLinkRoutes(app, {
    db: deps.db,
    identity: deps.identity,
    pokes: deps.pokes,
    now: deps.now,
    onChange,
  });
  if (config.twilioWebhooks !== null && deps.publicUrl !== null && config.sms !== null) {
    const events: SmsEventDeps = {
      db: deps.db,
      pokes: deps.pokes,
      now: deps.now,
      provider: config.sms.name,
      maxAttempts,
      onChange,
    };
    await registerTwilioWebhooks(app, {
      ...config.twilioWebhooks,
      publicUrl: deps.publicUrl,
      onStatus: (callback) => applySmsStatus(events, callback),
      onInbound: (message) => answerInboundOnce(events, message.sid, () => applySmsReply(events, message)),
    });
  }

  if (config.autoStart !== false) {
    app.addHook('onReady', async () => dispatcher.start());
    app.addHook('onClose', async () => dispatcher.stop());
  }
  return { onPushed: (userId, changes) => dispatcher.pushed(userId, changes) };
}

/** Alerts are urgent, and a notification without a link opens the app. */
function pushSender(sender: WebPushSender | null): PushSender | null {
  if (sender === null) return null;
  return {
    sendToUser: (userId, payload, options) =>
      sender.sendToUser(
        userId as UserId,
        { ...payload, url: payload.url ?? '/' },
        { ...options, urgency: 'high' },
      ),
  };
}
