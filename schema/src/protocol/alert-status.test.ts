import { expect, it } from 'vitest';
import { ALERT_CHANNELS, ALERT_STATUSES, alertReach, isObservedReach } from './alert-status.ts';

const row = (channel: string, status: string, response: string | null = null) => ({
  channel,
  status,
  response,
});

it('[AL30] observed reach: the carrier’s sent/delivered/read for SMS, the device’s `shown` for Web Push and realtime, any answer', () => {
  const observed = ALERT_CHANNELS.flatMap((channel) =>
    ALERT_STATUSES.filter((status) => isObservedReach(row(channel, status))).map((s) => `${channel}:${s}`),
  );
  expect(observed.sort()).toEqual(
    ['sms:sent', 'sms:delivered', 'sms:read', 'web_push:shown', 'realtime:shown'].sort(),
  );
  for (const response of ['acknowledged', 'on_my_way', 'cannot_help']) {
    expect(isObservedReach(row('realtime', 'failed', response))).toBe(true);
  }
});

it('[AL30] a push service’s or a stream’s `sent`, and a realtime `delivered` from servers before receipts, are not reach', () => {
  expect(alertReach(row('web_push', 'sent'))).toBe('waiting');
  expect(alertReach(row('realtime', 'sent'))).toBe('waiting');
  expect(alertReach(row('realtime', 'delivered'))).toBe('waiting');
});

it('[AL30] failures, no provider and the user’s “did not send” are not reached; the user’s “it sent” is their word, not an observation', () => {
  for (const status of ['failed', 'undelivered', 'not_configured', 'canceled']) {
    expect(alertReach(row('sms', status))).toBe('not_reached');
  }
  expect(alertReach(row('device_sms', 'user_reported_not_sent'))).toBe('not_reached');
  expect(alertReach(row('device_sms', 'user_confirmed_sent'))).toBe('user_reported');
  expect(alertReach(row('device_sms', 'composer_opened'))).toBe('waiting');
});

it('[AL30] a status or channel this build does not know is waiting, never reach', () => {
  expect(alertReach(row('sms', 'teleported'))).toBe('waiting');
  expect(alertReach(row('pigeon', 'delivered'))).toBe('waiting');
  expect(alertReach(row('sms', 'constructor'))).toBe('waiting');
});
