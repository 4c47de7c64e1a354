import { describe, expect, it } from 'vitest';
import type { AlertStatus } from '@vitalwatch/schema/protocol/alert-status';
import { HttpError } from '../../http/http-error.ts';
import {
  classifyTwilioError,
  isLaterStatus,
  parseStatusCallback,
  STATUS_RANK,
  toAlertStatus,
} from './twilio-status.ts';

const SID = 'SM0123456789abcdef0123456789abcdef';
const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';

function callback(overrides: Record<string, string | string[]> = {}) {
  return {
    AccountSid: ACCOUNT,
    ApiVersion: '2010-04-01',
    MessageSid: SID,
    MessageStatus: 'delivered',
    SmsSid: SID,
    SmsStatus: 'delivered',
    To: '+15551230001',
    From: '+15005550006',
    RawDlrDoneDate: '2501311459',
    ...overrides,
  };
}

function badRequest(run: () => unknown): HttpError {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected an HttpError');
}

describe('toAlertStatus', () => {
  it("maps Twilio's outbound statuses to ours; accepted and scheduled are queued", () => {
    expect(toAlertStatus('accepted')).toBe('queued');
    expect(toAlertStatus('scheduled')).toBe('queued');
    expect(toAlertStatus('queued')).toBe('queued');
    for (const same of [
      'sending',
      'sent',
      'delivered',
      'undelivered',
      'failed',
      'read',
      'canceled',
    ] as const) {
      expect(toAlertStatus(same)).toBe(same);
    }
    expect(toAlertStatus('partially_delivered')).toBe('sent');
  });

  it('has no status for inbound or unknown values (nor for inherited object keys)', () => {
    expect(toAlertStatus('received')).toBeNull();
    expect(toAlertStatus('receiving')).toBeNull();
    expect(toAlertStatus('bogus')).toBeNull();
    expect(toAlertStatus('toString')).toBeNull();
  });
});

describe('parseStatusCallback', () => {
  it("reads Twilio's callback fields, ignoring ones it does not know", () => {
    expect(parseStatusCallback(callback({ ChannelPrefix: 'sms' }))).toEqual({
      sid: SID,
      status: 'delivered',
      twilioStatus: 'delivered',
      errorCode: null,
      errorMessage: null,
      accountSid: ACCOUNT,
      to: '+15551230001',
      from: '+15005550006',
      rawDlrDoneDate: '2501311459',
    });
  });

  it('keeps the error code of a failure as a string', () => {
    const parsed = parseStatusCallback(
      callback({ MessageStatus: 'undelivered', ErrorCode: '30003', ErrorMessage: 'Unreachable' }),
    );
    expect(parsed).toMatchObject({ status: 'undelivered', errorCode: '30003', errorMessage: 'Unreachable' });
    expect(parseStatusCallback(callback({ ErrorCode: '' })).errorCode).toBeNull();
  });

  it('falls back to the legacy SmsSid / SmsStatus names', () => {
    const { MessageSid: _sid, MessageStatus: _status, ...legacy } = callback({ SmsStatus: 'sent' });
    expect(parseStatusCallback(legacy)).toMatchObject({ sid: SID, status: 'sent' });
  });

  it('refuses an unknown status with a 400 that names the field and the known values', () => {
    const error = badRequest(() =>
      parseStatusCallback(callback({ MessageStatus: 'teleported', SmsStatus: 'x' })),
    );
    expect(error.statusCode).toBe(400);
    expect(error.errorCode).toBe('validation_failed');
    expect(error.message).toMatch(/body\.MessageStatus: unknown Twilio message status "teleported"/);
    expect(error.message).toMatch(/delivered/);
  });

  it('names every missing or malformed field', () => {
    const error = badRequest(() =>
      parseStatusCallback({ AccountSid: 'nope', MessageStatus: 'sent', ErrorCode: 'E1' }),
    );
    expect(error.message).toMatch(/body\.MessageSid: is required/);
    expect(error.message).toMatch(/body\.AccountSid/);
    expect(error.message).toMatch(/body\.ErrorCode/);
    expect(badRequest(() => parseStatusCallback(callback({ MessageSid: [SID, SID] }))).message).toMatch(
      /body\.MessageSid/,
    );
  });
});

describe('isLaterStatus', () => {
  const order: AlertStatus[] = [
    'pending',
    'queued',
    'sending',
    'sent',
    'delivered',
    'undelivered',
    'failed',
    'canceled',
    'read',
  ];

  it('moves forward along the lifecycle and never backwards or sideways', () => {
    for (const [i, current] of order.entries()) {
      for (const [j, next] of order.entries()) {
        expect(isLaterStatus(current, next), `${current} → ${next}`).toBe(j > i);
      }
    }
    expect(Object.keys(STATUS_RANK)).toEqual(order);
  });

  it('a duplicate changes nothing; a late "sent" after "delivered" is ignored', () => {
    expect(isLaterStatus('delivered', 'delivered')).toBe(false);
    expect(isLaterStatus('delivered', 'sent')).toBe(false);
    expect(isLaterStatus('sent', 'delivered')).toBe(true);
  });

  it('between outcomes the worse news wins, so a message with one undelivered segment ends undelivered', () => {
    expect(isLaterStatus('delivered', 'undelivered')).toBe(true);
    expect(isLaterStatus('undelivered', 'delivered')).toBe(false);
    // A read receipt proves delivery.
    expect(isLaterStatus('undelivered', 'read')).toBe(true);
  });

  it("never moves our other channels' statuses, nor moves a Twilio status to one of them", () => {
    expect(isLaterStatus('not_configured', 'delivered')).toBe(false);
    expect(isLaterStatus('composer_opened', 'sent')).toBe(false);
    expect(isLaterStatus('queued', 'user_confirmed_sent')).toBe(false);
  });
});

describe('classifyTwilioError', () => {
  it.each([
    [30003, 'retry-later'],
    [30008, 'retry-later'],
    ['20429', 'retry-later'],
    [30005, 'never-retry'],
    [30006, 'never-retry'],
    [30007, 'never-retry'],
    [21211, 'never-retry'],
    [21610, 'never-retry'],
    ['21614', 'never-retry'],
    [12345, 'unknown'],
    [null, 'unknown'],
    ['', 'unknown'],
  ] as const)('%s → %s', (code, expected) => {
    expect(classifyTwilioError(code)).toBe(expected);
  });
});
