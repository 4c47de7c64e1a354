import { ALERT_STATUSES } from '@vitalwatch/schema/protocol/alert-status';
import { describe, expect, it } from 'vitest';
import type { AlertLogRow } from '@vitalwatch/schema/protocol/rows';
import { deliveryLine, describeLedger, errorMeaning, statusTime, statusWords } from './delivery-words.ts';

const AT = Date.UTC(2026, 10, 25, 14, 3);
/** HH:MM in UTC, so the test does not depend on the machine's zone. */
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

let seq = 0;
function row(fields: Partial<AlertLogRow> = {}): AlertLogRow {
  seq += 1;
  const status = fields.status ?? 'pending';
  return {
    id: `0190a000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    version: seq,
    incidentId: '0190a000-0000-7000-8000-ffffffffffff',
    contactId: MUM,
    channel: 'sms',
    messageKind: 'alert',
    status,
    statusHistory: [{ status, at: new Date(AT).toISOString() }],
    errorCode: null,
    response: null,
    respondedAt: null,
    updatedAt: AT,
    ...fields,
  };
}

const MUM = '0190a000-0000-7000-8000-00000000a001';
const KOFI = '0190a000-0000-7000-8000-00000000a002';
const CONTACTS = [
  { id: KOFI, name: 'Kofi', tier: 2 },
  { id: MUM, name: 'Mum', tier: 1 },
];

const ALL_STATUSES = ALERT_STATUSES;

describe('status in plain words', () => {
  it.each([
    ['pending', 'sending…'],
    ['queued', 'accepted by the SMS provider'],
    ['sending', 'being passed to the phone network'],
    ['sent', 'sent'],
    ['delivered', 'delivered'],
    ['read', 'read'],
    ['composer_opened', 'composer opened (not confirmed)'],
  ] as const)('%s is "%s"', (status, words) => {
    expect(statusWords({ channel: 'sms', status, errorCode: null }).words).toBe(words);
  });

  it('[AL30] a Web Push or realtime alert is "shown" only from the contact device\'s receipt, never from "sent"', () => {
    for (const status of ['sent', 'delivered', 'read'] as const) {
      expect(statusWords({ channel: 'web_push', status, errorCode: null })).toMatchObject({
        words: "given to their phone's push service, not shown yet",
        tone: 'waiting',
      });
      expect(statusWords({ channel: 'realtime', status, errorCode: null })).toMatchObject({
        words: 'passed to their open app, not shown yet',
        tone: 'waiting',
      });
    }
    expect(statusWords({ channel: 'realtime', status: 'shown', errorCode: null })).toMatchObject({
      words: 'shown on their phone',
      tone: 'good',
    });
  });

  it('never says "sent" or "delivered" unless the row has that status (or the user said it went)', () => {
    for (const status of ALL_STATUSES) {
      for (const channel of ['sms', 'web_push', 'realtime', 'device_sms'] as const) {
        const text = deliveryLine(row({ status, channel }), hhmm).text;
        const claimsSent = /(?<!not |be )sent\b/i.test(text.replace(/nothing was sent/, ''));
        const claimsDelivered = /(?<!not )delivered\b/i.test(text);
        const carrier = channel === 'sms' || channel === 'device_sms';
        expect(claimsSent, text).toBe((status === 'sent' && carrier) || status === 'user_confirmed_sent');
        expect(claimsDelivered, text).toBe(status === 'delivered' && carrier);
      }
    }
  });

  it('an unknown status from a newer server is shown as it is, not guessed at', () => {
    expect(statusWords({ channel: 'sms', status: 'scheduled', errorCode: null }).words).toBe(
      'status "scheduled"',
    );
  });

  it('says what the common error codes mean', () => {
    expect(errorMeaning('30003')).toMatch(/unreachable/);
    expect(errorMeaning('30006')).toMatch(/landline, cannot receive SMS/);
    expect(errorMeaning('21211')).toMatch(/invalid number/);
    expect(errorMeaning('12345')).toBe('error 12345');
  });
});

describe('one ledger line', () => {
  it('channel, status, time and the kind of message', () => {
    expect(deliveryLine(row({ status: 'delivered' }), hhmm).text).toBe('SMS: delivered 14:03');
    expect(deliveryLine(row({ status: 'sent', messageKind: 'escalation' }), hhmm).text).toBe(
      'SMS: sent 14:03 (escalation)',
    );
    expect(
      deliveryLine(row({ status: 'sent', channel: 'web_push', messageKind: 'all_clear' }), hhmm).text,
    ).toBe("App notification: given to their phone's push service, not shown yet 14:03 (all-clear)");
  });

  it('no SMS provider: says nothing was sent by SMS', () => {
    const line = deliveryLine(row({ status: 'not_configured' }), hhmm);
    expect(line).toMatchObject({
      text: 'SMS not set up on the server: nothing was sent by SMS',
      tone: 'bad',
    });
  });

  it("the device's own SMS: composer opened is not a send", () => {
    expect(deliveryLine(row({ channel: 'device_sms', status: 'composer_opened' }), hhmm).text).toBe(
      'Text from this phone: composer opened (not confirmed) 14:03',
    );
  });

  it('a failure says why; a transient one that went back to the queue says it is tried again', () => {
    expect(deliveryLine(row({ status: 'undelivered', errorCode: '30006' }), hhmm)).toMatchObject({
      text: 'SMS: not delivered 14:03. A landline, cannot receive SMS',
      tone: 'bad',
    });
    expect(deliveryLine(row({ status: 'failed', errorCode: '21211' }), hhmm).text).toBe(
      'SMS: failed 14:03. Invalid number',
    );
    expect(deliveryLine(row({ status: 'pending', errorCode: '30003' }), hhmm)).toMatchObject({
      text: 'SMS: trying again 14:03. Phone unreachable (off or no signal)',
      tone: 'waiting',
    });
  });

  it("the time is when the row reached its current status (its history), else the row's last change", () => {
    const history = [
      { status: 'queued', at: new Date(AT).toISOString() },
      { status: 'delivered', at: new Date(AT + 120_000).toISOString() },
      { status: 'sent', at: new Date(AT + 180_000).toISOString() }, // a late callback, not applied
    ];
    expect(statusTime(row({ status: 'delivered', statusHistory: history }))).toBe(AT + 120_000);
    expect(statusTime(row({ status: 'delivered', statusHistory: [], updatedAt: AT + 5 }))).toBe(AT + 5);
  });
});

describe('the ledger', () => {
  it('per contact (tier order), the answer first, then each channel: the alert and the newest follow-up', () => {
    const logs = [
      row({ contactId: KOFI, status: 'sent', messageKind: 'escalation' }),
      row({ status: 'delivered', response: 'on_my_way', respondedAt: AT + 180_000 }),
      row({ status: 'sent', messageKind: 'location_update' }),
      row({ status: 'pending', messageKind: 'location_update' }),
      row({ channel: 'web_push', status: 'failed', errorCode: 'no_subscription' }),
      row({ contactId: null, status: 'queued' }),
    ];
    expect(describeLedger(logs, CONTACTS, hhmm).map((l) => l.text)).toEqual([
      'Mum — On the way 14:06',
      'Mum — SMS: delivered 14:03',
      'Mum — SMS: sending… 14:03 (location update)',
      'Mum — App notification: failed 14:03. They have not turned on alerts in their app',
      'Kofi — SMS: sent 14:03 (escalation)',
      'A removed contact — SMS: accepted by the SMS provider 14:03',
    ]);
  });

  it.each([
    ['acknowledged', 'Acknowledged'],
    ['on_my_way', 'On the way'],
    ['cannot_help', "Can't help"],
  ] as const)("the contact's answer %s is %s", (response, words) => {
    const [first] = describeLedger([row({ response, respondedAt: AT })], CONTACTS, hhmm);
    expect(first?.text).toBe(`Mum — ${words} 14:03`);
  });

  it('no rows, no lines', () => {
    expect(describeLedger([], CONTACTS, hhmm)).toEqual([]);
  });
});
