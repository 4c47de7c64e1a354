/**
 * The alert ledger's status vocabulary (`alert_logs.status`, SPEC AL30) and what each status lets anyone claim:
 * the one place that says whether a ledger row is "observed reach", i.e. something outside our own server saw the
 * message arrive. The database enum (db/safety.ts), the server's writers and the device's words all read it here.
 *
 * Reach, per row (`alertReach`):
 * - `observed`: a delivery someone observed. A carrier's `sent`/`delivered` (or `read`) for the server's SMS; a
 *   receipt from the contact's own device for Web Push and realtime (`shown`: the service worker showed the
 *   notification, or the open app put the alert on screen with sound); or any answer from the contact
 *   (`response`: acknowledged, on my way, can't help), whatever the row's status.
 * - `waiting`: on its way, nothing observed yet. A push service that took a Web Push message (`sent`) or an event
 *   written to the contact's open stream (`sent`) is waiting: neither proves a phone showed anything.
 * - `not_reached`: it will not arrive by itself (failed, undelivered, not configured, cancelled before it went, or
 *   the user said the phone's own text did not send).
 * - `user_reported`: the user said the text from their own phone went (`device_sms`); nobody observed it.
 *
 * A status this build does not know (a newer server's) is `waiting`: never claimed as reach.
 *
 * Pulled rows carry the status as a plain string (rows.ts), so a new status never breaks an installed app's
 * parsing; an older app shows a status it does not know as it is (`status "shown"`).
 */

/** Every status a ledger row can have, in the order of the database enum (append only: it is a Postgres enum). */
export const ALERT_STATUSES = [
  'pending',
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'read',
  'canceled',
  'not_configured',
  'composer_opened',
  'user_confirmed_sent',
  'user_reported_not_sent',
  /** The contact's device showed the alert and said so (a receipt): Web Push and realtime only (SPEC AL31). */
  'shown',
] as const;

export type AlertStatus = (typeof ALERT_STATUSES)[number];

export const ALERT_CHANNELS = ['sms', 'web_push', 'realtime', 'device_sms'] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];

export type AlertReach = 'observed' | 'waiting' | 'not_reached' | 'user_reported';

type ReachByChannel = AlertReach | Readonly<Record<AlertChannel, AlertReach>>;

/** Per status (and, where the same word means different things, per channel): what the row lets us claim. */
const REACH: Readonly<Record<AlertStatus, ReachByChannel>> = {
  pending: 'waiting',
  queued: 'waiting',
  sending: 'waiting',
  // Twilio's `sent`: the carrier took the text. Web Push `sent`: a push service took it; realtime `sent`: written
  // to the contact's open stream. Only the carrier's counts; the others wait for the device's receipt.
  sent: { sms: 'observed', web_push: 'waiting', realtime: 'waiting', device_sms: 'waiting' },
  // Servers before this vocabulary wrote `delivered` for a realtime event nobody was shown: never reach.
  delivered: { sms: 'observed', web_push: 'waiting', realtime: 'waiting', device_sms: 'waiting' },
  read: { sms: 'observed', web_push: 'waiting', realtime: 'waiting', device_sms: 'waiting' },
  shown: { sms: 'waiting', web_push: 'observed', realtime: 'observed', device_sms: 'waiting' },
  undelivered: 'not_reached',
  failed: 'not_reached',
  canceled: 'not_reached',
  not_configured: 'not_reached',
  composer_opened: 'waiting',
  user_confirmed_sent: 'user_reported',
  user_reported_not_sent: 'not_reached',
};

export function isAlertStatus(status: string): status is AlertStatus {
  return Object.hasOwn(REACH, status);
}

/** The fields of a ledger row (as pulled, `AlertLogRow`) that decide its reach. */
export type ReachFacts = { channel: string; status: string; response: string | null };

/** What a ledger row lets anyone claim about reaching its contact (see the overview). */
export function alertReach(row: ReachFacts): AlertReach {
  if (row.response !== null) return 'observed';
  if (!isAlertStatus(row.status)) return 'waiting';
  const reach = REACH[row.status];
  if (typeof reach === 'string') return reach;
  return (ALERT_CHANNELS as readonly string[]).includes(row.channel)
    ? reach[row.channel as AlertChannel]
    : 'waiting';
}

/** True only when a delivery to the contact was observed (SPEC AL30): the words "reached", "shown", "delivered". */
export function isObservedReach(row: ReachFacts): boolean {
  return alertReach(row) === 'observed';
}
