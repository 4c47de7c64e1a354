/**
 * Reads what `planAlerts` needs about a set of incidents from the database, as the server (outside row-level
 * security): each incident, its user's contacts and escalation settings, the ledger so far, who answered, what
 * the device's SMS fallback did, and the newest location. One query per table for the whole set, however many
 * incidents a wake-up brings (a disaster burst brings a thousand), so the cost of planning grows with the rows
 * read, not with round trips.
 */
import { sql } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import type { Db, Tx } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';
import type { AlertStatus } from '@vitalwatch/schema/protocol/alert-status';
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
  userId: UserId;
  code: string;
  triggeredAt: Date;
  location: { lat: number; lng: number; accuracyM: number | null; at: Date } | null;
  userName: string;
  /** The phone's UTC offset when it triggered (minutes east); null from apps before protocol 5 (SPEC SO4). */
  utcOffsetMinutes: number | null;
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
  /** contact id → the token of their `/a/<token>` page for this incident. */
  links: ReadonlyMap<string, string>;
  deviceSms: readonly DeviceSmsFact[];
  /** Ledger rows no provider has been asked about yet (pending, never claimed): what "I'm safe" may drop. */
  untriedIds: readonly string[];
};

type IncidentRow = {
  id: string;
  user_id: UserId;
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
  utc_offset_minutes: number | null;
  tier2: number | null;
  all_after: number | null;
};

type ContactRow = {
  id: string;
  user_id: string;
  tier: number;
  phone_e164: string;
  notify_by_sms: boolean;
  contact_user_id: string | null;
  share_location: boolean;
};

type LogRow = {
  id: string;
  incident_id: string;
  idempotency_key: string;
  contact_id: string | null;
  channel: SendChannel | 'device_sms';
  message_kind: MessageKind;
  status: AlertStatus;
  attempts: number;
  created_at: Date | string;
};

export type LinkRow = { incident_id: string; token: string; contact_id: string; response: string | null };

type EventRow = {
  id: string;
  incident_id: string;
  type: string;
  at: Date | string;
  contact_ids: string[] | null;
  sent: boolean | null;
};

const asDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = groups.get(key(row));
    if (group === undefined) groups.set(key(row), [row]);
    else group.push(row);
  }
  return groups;
}

const uuids = (ids: Iterable<string>) => sql`${sql.param([...ids])}::uuid[]`;

/** The `/a/<token>` links of these incidents (also read again after the dispatcher adds some). */
export async function loadAlertLinks(tx: Db | Tx, incidentIds: readonly string[]): Promise<LinkRow[]> {
  return queryRows<LinkRow>(
    tx,
    sql`select incident_id, token, contact_id, response from alert_links
        where incident_id = any(${uuids(incidentIds)})`,
  );
}

/** The facts of every incident of `incidentIds` that exists; five queries whatever the number of incidents. */
export async function loadAlertFacts(
  tx: Db | Tx,
  incidentIds: readonly string[],
  now: Date,
  smsLocationEveryMs: number = DEFAULT_TIMINGS.smsLocationEveryMs,
): Promise<Map<string, AlertFacts>> {
  if (incidentIds.length === 0) return new Map();
  const incidents = await queryRows<IncidentRow>(
    tx,
    sql`select i.id, i.user_id, i.code, i.status, i.silent_escalation, i.triggered_at, i.received_at, i.latitude,
          i.longitude, i.accuracy_meters, i.located_at, u.display_name,
          (i.device_context->>'utcOffsetMinutes')::int as utc_offset_minutes,
          s.escalate_tier2_after_seconds as tier2, s.escalate_all_after_seconds as all_after
        from emergency_incidents i
        join users u on u.id = i.user_id
        left join user_settings s on s.user_id = i.user_id
        where i.id = any(${uuids(incidentIds)})`,
  );
  if (incidents.length === 0) return new Map();
  const found = incidents.map((i) => i.id);

  const contacts = await queryRows<ContactRow>(
    tx,
    sql`select id, user_id, tier, phone_e164, notify_by_sms, contact_user_id, share_location
        from emergency_contacts
        where user_id = any(${uuids(new Set(incidents.map((i) => i.user_id)))}) and deleted_at is null
        order by user_id, tier, created_at`,
  );
  const logs = await queryRows<LogRow>(
    tx,
    sql`select id, incident_id, idempotency_key, contact_id, channel, message_kind, status, attempts, created_at
        from alert_logs where incident_id = any(${uuids(found)})`,
  );
  const links = await loadAlertLinks(tx, found);
  const events = await queryRows<EventRow>(
    tx,
    sql`select id, incident_id, type, at, contact_ids, sent from incident_events
        where incident_id = any(${uuids(found)})
          and type in ('location', 'sms_composer_opened', 'sms_user_reported') and outcome = 'applied'
        order by incident_id, at, id`,
  );

  const contactsByUser = groupBy(contacts, (c) => c.user_id);
  const logsByIncident = groupBy(logs, (l) => l.incident_id);
  const linksByIncident = groupBy(links, (l) => l.incident_id);
  const eventsByIncident = groupBy(events, (e) => e.incident_id);
  return new Map(
    incidents.map((incident) => [
      incident.id,
      incidentFacts(
        incident,
        {
          contacts: contactsByUser.get(incident.user_id) ?? [],
          logs: logsByIncident.get(incident.id) ?? [],
          links: linksByIncident.get(incident.id) ?? [],
          events: eventsByIncident.get(incident.id) ?? [],
        },
        now,
        smsLocationEveryMs,
      ),
    ]),
  );
}

function incidentFacts(
  incident: IncidentRow,
  rows: { contacts: ContactRow[]; logs: LogRow[]; links: LinkRow[]; events: EventRow[] },
  now: Date,
  smsLocationEveryMs: number,
): AlertFacts {
  const contactDetails = new Map<string, ContactDetails>(
    rows.contacts.map((c) => [
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
  for (const event of rows.events) {
    const at = asDate(event.at);
    if (event.type === 'location') latestLocation = { eventId: event.id, at };
    if (event.type === 'sms_composer_opened') {
      lastOpened = event.contact_ids ?? [];
      for (const contactId of lastOpened) deviceSms.push({ contactId, status: 'composer_opened', at });
    }
    if (event.type === 'sms_user_reported' && event.sent !== null) {
      const status = event.sent ? 'user_confirmed_sent' : 'user_reported_not_sent';
      // One link per contact (SPEC SO2): the answer names its contact. Older apps' answers name none and
      // belong to the composer opened last.
      for (const contactId of event.contact_ids ?? lastOpened) deviceSms.push({ contactId, status, at });
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
    id: incident.id,
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
    utcOffsetMinutes: incident.utc_offset_minutes,
  };
  const planLogs: PlanLog[] = rows.logs.map((log) => ({
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
      rows.links
        .filter((l) => l.response === 'acknowledged' || l.response === 'on_my_way')
        .map((l) => l.contact_id),
    ),
    links: new Map(rows.links.map((l) => [l.contact_id, l.token])),
    deviceTexted,
    deviceSms,
    untriedIds: rows.logs
      .filter((l) => l.status === 'pending' && l.attempts === 0 && l.message_kind !== 'all_clear')
      .map((l) => l.id),
    latestLocation,
    timings,
    now,
  };
}
