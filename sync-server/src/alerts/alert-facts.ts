/**
 * Reads what `planAlerts` needs about one incident from the database, as the server (outside row-level
 * security): the incident, the user's contacts and escalation settings, the ledger so far, who answered, what
 * the device's SMS fallback did, and the newest location.
 */
import { sql } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';
import type { AlertStatus } from './channel.ts';
import {
  DEFAULT_TIMINGS,
  type AlertTimings,
  type MessageKind,
  type PlanContact,
  type PlanFacts,
  type PlanIncident,
  type PlanLog,
  type SendChannel,
} from './alert-plan.ts';

export type IncidentDetails = PlanIncident & {
  userId: string;
  code: string;
  triggeredAt: Date;
  location: { lat: number; lng: number; accuracyM: number | null; at: Date } | null;
  userName: string;
};

export type ContactDetails = PlanContact & { phoneE164: string; contactUserId: string | null };

export type DeviceSmsFact = {
  contactId: string;
  status: 'composer_opened' | 'user_confirmed_sent' | 'user_reported_not_sent';
  at: Date;
};

export type AlertFacts = PlanFacts & {
  details: IncidentDetails;
  contactDetails: ReadonlyMap<string, ContactDetails>;
  links: ReadonlyMap<string, string>;
  deviceSms: readonly DeviceSmsFact[];
};

const asDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));

export async function loadAlertFacts(
  tx: Tx,
  incidentId: string,
  now: Date,
  smsLocationEveryMs: number = DEFAULT_TIMINGS.smsLocationEveryMs,
): Promise<AlertFacts | null> {
  const [incident] = await queryRows<{
    user_id: string;
    code: string;
    status: PlanIncident['status'];
    silent_escalation: boolean;
    triggered_at: Date | string;
    received_at: Date | string;
    latitude: number | null;
    longitude: number | null;
    accuracy_meters: number | null;
    located_at: Date | string | null;
    display_name: string | null;
    tier2: number | null;
    all_after: number | null;
  }>(
    tx,
    sql`select i.user_id, i.code, i.status, i.silent_escalation, i.triggered_at, i.received_at, i.latitude,
          i.longitude, i.accuracy_meters, i.located_at, u.display_name,
          s.escalate_tier2_after_seconds as tier2, s.escalate_all_after_seconds as all_after
        from emergency_incidents i
        join users u on u.id = i.user_id
        left join user_settings s on s.user_id = i.user_id
        where i.id = ${incidentId}`,
  );
  if (incident === undefined) return null;

  const contacts = await queryRows<{
    id: string;
    tier: number;
    phone_e164: string;
    notify_by_sms: boolean;
    contact_user_id: string | null;
    share_location: boolean;
  }>(
    tx,
    sql`select id, tier, phone_e164, notify_by_sms, contact_user_id, share_location from emergency_contacts
        where user_id = ${incident.user_id} and deleted_at is null order by tier, created_at`,
  );
  const logs = await queryRows<{
    idempotency_key: string;
    contact_id: string | null;
    channel: SendChannel | 'device_sms';
    message_kind: MessageKind;
    status: AlertStatus;
    created_at: Date | string;
  }>(
    tx,
    sql`select idempotency_key, contact_id, channel, message_kind, status, created_at from alert_logs
        where incident_id = ${incidentId}`,
  );
  const links = await queryRows<{ token: string; contact_id: string; response: string | null }>(
    tx,
    sql`select token, contact_id, response from alert_links where incident_id = ${incidentId}`,
  );
  const events = await queryRows<{
    id: string;
    type: string;
    at: Date | string;
    contact_ids: string[] | null;
    sent: boolean | null;
  }>(
    tx,
    sql`select id, type, at, contact_ids, sent from incident_events
        where incident_id = ${incidentId} and type in ('location', 'sms_composer_opened', 'sms_user_reported')
          and outcome = 'applied'
        order by at, id`,
  );

  const contactDetails = new Map<string, ContactDetails>(
    contacts.map((c) => [
      c.id,
      {
        id: c.id,
        tier: c.tier,
        sms: c.notify_by_sms,
        app: c.contact_user_id !== null,
        shareLocation: c.share_location,
        phoneE164: c.phone_e164,
        contactUserId: c.contact_user_id,
      },
    ]),
  );

  // The device's SMS fallback: the composer was opened for some contacts, then the user may say whether it went.
  const deviceSms: DeviceSmsFact[] = [];
  let lastOpened: string[] = [];
  let latestLocation: PlanFacts['latestLocation'] = null;
  for (const event of events) {
    const at = asDate(event.at);
    if (event.type === 'location') latestLocation = { eventId: event.id, at };
    if (event.type === 'sms_composer_opened') {
      lastOpened = event.contact_ids ?? [];
      for (const contactId of lastOpened) deviceSms.push({ contactId, status: 'composer_opened', at });
    }
    if (event.type === 'sms_user_reported' && event.sent !== null) {
      const status = event.sent ? 'user_confirmed_sent' : 'user_reported_not_sent';
      for (const contactId of lastOpened) deviceSms.push({ contactId, status, at });
    }
  }
  const deviceTexted = new Set<string>();
  for (const fact of deviceSms) {
    if (fact.status === 'user_confirmed_sent') deviceTexted.add(fact.contactId);
    if (fact.status === 'user_reported_not_sent') deviceTexted.delete(fact.contactId);
  }

  const timings: AlertTimings = {
    tier2AfterMs: (incident.tier2 ?? DEFAULT_TIMINGS.tier2AfterMs / 1000) * 1000,
    allAfterMs: (incident.all_after ?? DEFAULT_TIMINGS.allAfterMs / 1000) * 1000,
    smsLocationEveryMs,
  };
  const located = incident.latitude !== null && incident.longitude !== null;
  const details: IncidentDetails = {
    id: incidentId,
    userId: incident.user_id,
    code: incident.code,
    status: incident.status,
    silentEscalation: incident.silent_escalation,
    triggeredAt: asDate(incident.triggered_at),
    receivedAt: asDate(incident.received_at),
    location: located
      ? {
          lat: incident.latitude!,
          lng: incident.longitude!,
          accuracyM: incident.accuracy_meters,
          at: asDate(incident.located_at ?? incident.triggered_at),
        }
      : null,
    userName: incident.display_name ?? '',
  };
  const planLogs: PlanLog[] = logs.map((log) => ({
    key: log.idempotency_key,
    contactId: log.contact_id,
    channel: log.channel,
    kind: log.message_kind,
    status: log.status,
    createdAt: asDate(log.created_at),
  }));
  return {
    incident: details,
    details,
    contacts: [...contactDetails.values()],
    contactDetails,
    logs: planLogs,
    responders: new Set(
      links
        .filter((l) => l.response === 'acknowledged' || l.response === 'on_my_way')
        .map((l) => l.contact_id),
    ),
    links: new Map(links.map((l) => [l.contact_id, l.token])),
    deviceTexted,
    deviceSms,
    latestLocation,
    timings,
    now,
  };
}
