/**
 * The delivery ledger (`alert_logs`, synced down from the server) in plain words: per contact, each channel's
 * latest status and its time, and the contact's answer.
 *
 * Safety rule: the words never claim more than the row says. "sent" and "delivered" appear only when that is
 * the row's status; `pending` is "sending…", `queued` is "accepted by the SMS provider" (Twilio has it, nothing
 * has left yet), and the device's own SMS fallback is "composer opened (not confirmed)" until the user says
 * otherwise. A status this build does not know is shown as it is, not guessed at.
 *
 * Per contact × channel there are at most two lines: the alert (or escalation), and the newest follow-up
 * (location update or all-clear), so a later follow-up never hides whether the alert itself arrived.
 */
import type { AlertLogRow, ContactRow } from '@vitalwatch/schema/protocol/rows';

type Channel = AlertLogRow['channel'];
type Response = NonNullable<AlertLogRow['response']>;

export type LedgerTone = 'good' | 'waiting' | 'bad';

export type LedgerLine = {
  /** Stable per line, for keyed rendering. */
  key: string;
  text: string;
  tone: LedgerTone;
};

const CHANNEL: Readonly<Record<Channel, string>> = {
  sms: 'SMS',
  web_push: 'App notification',
  realtime: 'Their open app',
  device_sms: 'Text from this phone',
};

const NOT_CONFIGURED: Readonly<Record<Channel, string>> = {
  sms: 'SMS not set up on the server: nothing was sent by SMS',
  web_push: 'App notifications not set up on the server: nothing was sent that way',
  realtime: 'Live alerts not set up on the server: nothing was sent that way',
  device_sms: 'Text from this phone: not set up',
};

const KIND: Readonly<Record<AlertLogRow['messageKind'], string>> = {
  alert: '',
  escalation: ' (escalation)',
  location_update: ' (location update)',
  all_clear: ' (all-clear)',
};

const ANSWER: Readonly<Record<Response, string>> = {
  acknowledged: 'Acknowledged',
  on_my_way: 'On the way',
  cannot_help: "Can't help",
};

/** Twilio's error codes (twilio.com/docs/errors/<code>) and our own, in a few words. */
const ERROR_MEANING: Readonly<Record<string, string>> = {
  '30001': 'the SMS provider was overloaded',
  '30003': 'phone unreachable (off or no signal)',
  '30004': 'blocked by the recipient',
  '30005': 'the number does not exist',
  '30006': 'a landline, cannot receive SMS',
  '30007': 'filtered as spam by the phone network',
  '30008': 'unknown error in the phone network',
  '21211': 'invalid number',
  '21214': 'the number cannot be reached',
  '21408': 'SMS to that country is not enabled on the server',
  '21610': 'they replied STOP, so texts to them are blocked',
  '21614': 'not a mobile number',
  '20003': "the server's SMS account details are wrong",
  '20429': 'the SMS provider asked us to slow down',
  timeout: 'the SMS provider did not answer in time',
  network: 'could not reach the provider',
  send_error: 'an error on the server',
  no_subscription: 'they have not turned on alerts in their app',
  push_rejected: 'the push service refused it',
  no_open_app: 'their app is not open right now',
};

export function errorMeaning(code: string): string {
  return ERROR_MEANING[code] ?? `error ${code}`;
}

export function answerWords(response: Response): string {
  return ANSWER[response];
}

/**
 * What a row's status says, without the channel or time, and why it failed or is being tried again (the error
 * code's meaning), if it did.
 */
export function statusWords(row: Pick<AlertLogRow, 'channel' | 'status' | 'errorCode'>): {
  words: string;
  reason: string | null;
  tone: LedgerTone;
} {
  const reason = row.errorCode === null ? null : errorMeaning(row.errorCode);
  const say = (words: string, tone: LedgerTone, why: string | null = null) => ({ words, reason: why, tone });
  switch (row.status) {
    case 'pending':
      // A transient failure puts the message back to pending with the error that caused it.
      return reason === null ? say('sending…', 'waiting') : say('trying again', 'waiting', reason);
    case 'queued':
      return say('accepted by the SMS provider', 'waiting');
    case 'sending':
      return say('being passed to the phone network', 'waiting');
    // On Web Push and realtime, `sent` only means a push service or their open app's stream took it: nobody has
    // seen it until their device's receipt makes it `shown` (alertReach, SPEC AL30).
    // Servers before receipts wrote `delivered` for a realtime alert nobody was shown.
    case 'sent':
    case 'delivered':
    case 'read':
      if (row.channel === 'web_push')
        return say("given to their phone's push service, not shown yet", 'waiting');
      if (row.channel === 'realtime') return say('passed to their open app, not shown yet', 'waiting');
      return say(row.status, 'good');
    case 'shown':
      return say('shown on their phone', 'good');
    case 'undelivered':
      return say('not delivered', 'bad', reason);
    case 'failed':
      return say('failed', 'bad', reason);
    case 'canceled':
      return say('cancelled before it went (you were safe)', 'waiting');
    case 'not_configured':
      return say('not set up on the server', 'bad');
    case 'composer_opened':
      return say('composer opened (not confirmed)', 'waiting');
    case 'user_confirmed_sent':
      return say('you said it was sent', 'good');
    case 'user_reported_not_sent':
      return say('you said it did not send', 'bad');
    default:
      return say(`status "${row.status}"`, 'waiting');
  }
}

/** When the row reached its current status: its history's entry for it, else the row's last change. */
export function statusTime(row: Pick<AlertLogRow, 'status' | 'statusHistory' | 'updatedAt'>): number {
  for (let i = row.statusHistory.length - 1; i >= 0; i--) {
    const entry = row.statusHistory[i]!;
    if (entry.status !== row.status) continue;
    const at = Date.parse(entry.at);
    if (!Number.isNaN(at)) return at;
  }
  return row.updatedAt;
}

/** One line, without the contact's name. */
export function deliveryLine(row: AlertLogRow, formatTime: (ms: number) => string): LedgerLine {
  if (row.status === 'not_configured') {
    return { key: row.id, text: NOT_CONFIGURED[row.channel] + KIND[row.messageKind], tone: 'bad' };
  }
  const { words, reason, tone } = statusWords(row);
  const why = reason === null ? '' : `. ${reason[0]!.toUpperCase()}${reason.slice(1)}`;
  return {
    key: row.id,
    text: `${CHANNEL[row.channel]}: ${words} ${formatTime(statusTime(row))}${KIND[row.messageKind]}${why}`,
    tone,
  };
}

type ContactName = Pick<ContactRow, 'id' | 'name' | 'tier'>;

/**
 * Every line of an incident's ledger, contacts in tier then name order (a removed contact last), each contact's
 * answer first.
 */
export function describeLedger(
  logs: readonly AlertLogRow[],
  contacts: readonly ContactName[],
  formatTime: (ms: number) => string,
): LedgerLine[] {
  const byContact = new Map<string, AlertLogRow[]>();
  for (const row of logs) {
    const key = row.contactId ?? '';
    byContact.set(key, [...(byContact.get(key) ?? []), row]);
  }
  const known = new Map(contacts.map((c) => [c.id, c]));
  const order = [...byContact.keys()].sort((a, b) => {
    const ca = known.get(a);
    const cb = known.get(b);
    if (ca === undefined || cb === undefined) return ca === undefined ? (cb === undefined ? 0 : 1) : -1;
    return ca.tier - cb.tier || ca.name.localeCompare(cb.name);
  });

  const lines: LedgerLine[] = [];
  for (const contactId of order) {
    const rows = byContact.get(contactId)!;
    const name = known.get(contactId)?.name ?? 'A removed contact';
    const answered = rows
      .filter((r) => r.response !== null)
      .sort((a, b) => (b.respondedAt ?? 0) - (a.respondedAt ?? 0))[0];
    if (answered?.response != null) {
      const at = answered.respondedAt === null ? '' : ` ${formatTime(answered.respondedAt)}`;
      lines.push({
        key: `${contactId}/answer`,
        text: `${name} — ${answerWords(answered.response)}${at}`,
        tone: answered.response === 'cannot_help' ? 'bad' : 'good',
      });
    }
    for (const channel of Object.keys(CHANNEL) as Channel[]) {
      const mine = rows.filter((r) => r.channel === channel);
      // UUIDv7 ids sort by creation time.
      const newest = (list: AlertLogRow[]) => list.sort((a, b) => (a.id < b.id ? 1 : -1))[0];
      const alert = newest(mine.filter((r) => r.messageKind === 'alert' || r.messageKind === 'escalation'));
      const followUp = newest(
        mine.filter((r) => r.messageKind !== 'alert' && r.messageKind !== 'escalation'),
      );
      for (const row of [alert, followUp]) {
        if (row === undefined) continue;
        const line = deliveryLine(row, formatTime);
        lines.push({ ...line, text: `${name} — ${line.text}` });
      }
    }
  }
  return lines;
}
