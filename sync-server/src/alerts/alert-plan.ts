/**
 * Who gets which message about an incident, and when: a pure function of what the database says now, so the
 * dispatcher can run it as often as it likes (after every push, on a timer, after a restart, on several
 * instances at once) and every message still goes out once: each planned message has an idempotency key
 * (incident × contact × channel × message), and the ledger refuses a second row with the same key.
 *
 * The rules it decides (schema/SPEC.md):
 * - AL1 The first tier that has contacts (normally tier 1) is alerted as soon as the incident reaches the server.
 * - AL2 Nobody acknowledged `tier2After` after that → tier 2 too; `allAfter` → everyone. Acknowledging stops
 *   further escalation; nobody is ever un-alerted.
 * - AL3 A contact the device already texted (the user said the message went) gets no server SMS alert, but gets
 *   every follow-up.
 * - AL5 "I'm safe" (resolved, or a plain cancel) cancels alerts not yet tried and sends an all-clear on every
 *   channel that reached a contact.
 * - AL6 A duress cancel looks like a cancel to the device, but the incident goes on escalating as if open, and
 *   no all-clear is sent.
 * - AL7 Location updates go to contacts who acknowledged (and whom the user lets see their location), on every
 *   app channel for each new fix, by SMS at most once per `smsLocationEvery`.
 */
import type { AlertStatus } from '@vitalwatch/schema/protocol/alert-status';
import { isOpenIncident, type IncidentStatus } from '@vitalwatch/schema/protocol/incident-status';

export type SendChannel = 'sms' | 'web_push' | 'realtime';
export type MessageKind = 'alert' | 'escalation' | 'location_update' | 'all_clear';

export type PlanIncident = {
  id: string;
  status: IncidentStatus;
  silentEscalation: boolean;
  /** When the server first had it: escalation counts from here, even for an incident created offline. */
  receivedAt: Date;
};

export type PlanContact = {
  id: string;
  tier: number;
  /** Has a phone and takes SMS. */
  sms: boolean;
  /** Uses VitalWatch: gets Web Push and realtime. */
  app: boolean;
  shareLocation: boolean;
};

export type PlanLog = {
  key: string;
  contactId: string | null;
  channel: SendChannel | 'device_sms';
  kind: MessageKind;
  status: AlertStatus;
  createdAt: Date;
};

export type PlanFacts = {
  incident: PlanIncident;
  contacts: readonly PlanContact[];
  logs: readonly PlanLog[];
  /** Contacts who answered "OK" or "I'm on my way". */
  responders: ReadonlySet<string>;
  /** Contacts the device texted and the user said the text went. */
  deviceTexted: ReadonlySet<string>;
  /** The newest location event, if any. */
  latestLocation: { eventId: string; at: Date } | null;
  timings: AlertTimings;
  now: Date;
};

export type AlertTimings = { tier2AfterMs: number; allAfterMs: number; smsLocationEveryMs: number };

export const DEFAULT_TIMINGS: AlertTimings = {
  tier2AfterMs: 120_000,
  allAfterMs: 300_000,
  smsLocationEveryMs: 300_000,
};

export type PlannedMessage = { key: string; contactId: string; channel: SendChannel; kind: MessageKind };

export type Plan = {
  create: PlannedMessage[];
  /** Alerts never tried are dropped (the user is safe). */
  cancelUntried: boolean;
  /** When the plan changes by the clock alone (the next escalation or SMS location slot); null = never. */
  wakeAt: Date | null;
};

/**
 * Statuses after which a message may have reached the contact (or their phone's messaging app), so the all-clear
 * follows on that channel. Wider than observed reach (schema/src/protocol/alert-status.ts): a message that may
 * have arrived must not be left without its all-clear.
 */
const REACHED: ReadonlySet<AlertStatus> = new Set<AlertStatus>([
  'queued',
  'sending',
  'sent',
  'delivered',
  'read',
  'shown',
  'composer_opened',
  'user_confirmed_sent',
]);

export function messageKey(incidentId: string, contactId: string, channel: SendChannel, what: string) {
  return `${incidentId}/${contactId}/${channel}/${what}`;
}

function channelsOf(contact: PlanContact): SendChannel[] {
  return [
    ...(contact.sms ? (['sms'] as const) : []),
    ...(contact.app ? (['web_push', 'realtime'] as const) : []),
  ];
}

export function isAlerting(incident: PlanIncident): boolean {
  return isOpenIncident(incident) || (incident.status === 'cancelled' && incident.silentEscalation);
}

export function planAlerts(facts: PlanFacts): Plan {
  return isAlerting(facts.incident) ? planOpen(facts) : planEnded(facts);
}

function planOpen(facts: PlanFacts): Plan {
  const { incident, contacts, timings, now } = facts;
  const existing = new Set(facts.logs.map((log) => log.key));
  const create: PlannedMessage[] = [];
  let wakeAt: Date | null = null;
  const wake = (at: number) => {
    if (wakeAt === null || at < wakeAt.getTime()) wakeAt = new Date(at);
  };
  const add = (message: PlannedMessage) => {
    if (!existing.has(message.key)) create.push(message);
  };

  const tiers = contacts.map((c) => c.tier);
  if (tiers.length === 0) return { create, cancelUntried: false, wakeAt: null };
  const firstTier = Math.min(...tiers);
  const acknowledged = facts.responders.size > 0 || incident.status === 'acknowledged';
  const since = now.getTime() - incident.receivedAt.getTime();
  let reach = firstTier;
  if (!acknowledged) {
    const tier2At = incident.receivedAt.getTime() + timings.tier2AfterMs;
    const allAt = incident.receivedAt.getTime() + timings.allAfterMs;
    if (since >= timings.tier2AfterMs) reach = Math.max(reach, 2);
    else wake(tier2At);
    if (since >= timings.allAfterMs) reach = 3;
    else wake(allAt);
  }

  for (const contact of contacts) {
    if (contact.tier > reach) continue;
    for (const channel of channelsOf(contact)) {
      if (channel === 'sms' && facts.deviceTexted.has(contact.id)) continue;
      add({
        key: messageKey(incident.id, contact.id, channel, 'alert'),
        contactId: contact.id,
        channel,
        kind: contact.tier === firstTier ? 'alert' : 'escalation',
      });
    }
  }

  const location = facts.latestLocation;
  if (location !== null) {
    for (const contact of contacts) {
      if (!facts.responders.has(contact.id) || !contact.shareLocation) continue;
      for (const channel of channelsOf(contact)) {
        const key = messageKey(incident.id, contact.id, channel, `location/${location.eventId}`);
        if (existing.has(key)) continue;
        if (channel === 'sms') {
          const last = lastLocationSms(facts.logs, contact.id);
          if (last !== null && now.getTime() - last < timings.smsLocationEveryMs) {
            wake(last + timings.smsLocationEveryMs);
            continue;
          }
        }
        add({ key, contactId: contact.id, channel, kind: 'location_update' });
      }
    }
  }
  return { create, cancelUntried: false, wakeAt };
}

function lastLocationSms(logs: readonly PlanLog[], contactId: string): number | null {
  let last: number | null = null;
  for (const log of logs) {
    if (log.contactId !== contactId || log.channel !== 'sms' || log.kind !== 'location_update') continue;
    last = Math.max(last ?? 0, log.createdAt.getTime());
  }
  return last;
}

function planEnded(facts: PlanFacts): Plan {
  const existing = new Set(facts.logs.map((log) => log.key));
  const reached = new Map<string, Set<SendChannel>>();
  const mark = (contactId: string, channel: SendChannel) => {
    const channels = reached.get(contactId) ?? new Set<SendChannel>();
    channels.add(channel);
    reached.set(contactId, channels);
  };
  for (const log of facts.logs) {
    if (log.contactId === null || (log.kind !== 'alert' && log.kind !== 'escalation')) continue;
    if (!REACHED.has(log.status)) continue;
    mark(log.contactId, log.channel === 'device_sms' ? 'sms' : log.channel);
  }
  for (const contactId of facts.deviceTexted) mark(contactId, 'sms');

  const create: PlannedMessage[] = [];
  const known = new Map(facts.contacts.map((c) => [c.id, c]));
  for (const [contactId, channels] of reached) {
    const contact = known.get(contactId);
    if (contact === undefined) continue;
    for (const channel of channels) {
      if (channel === 'sms' && !contact.sms) continue;
      const key = messageKey(facts.incident.id, contactId, channel, 'all_clear');
      if (!existing.has(key)) create.push({ key, contactId, channel, kind: 'all_clear' });
    }
  }
  return { create, cancelUntried: true, wakeAt: null };
}
