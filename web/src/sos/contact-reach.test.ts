import { describe, expect, it } from 'vitest';
import { GRACE_MS, planReach, type ReachContact, type ReachInput, type ReachLog } from './contact-reach.ts';
import { escalationWords, reachHeadline } from './reach-words.ts';

const T0 = Date.UTC(2026, 11, 7, 18, 0);
const MUM: ReachContact = { id: 'mum', name: 'Mum', tier: 1, notifyBySms: true };
const DAD: ReachContact = { id: 'dad', name: 'Dad', tier: 1, notifyBySms: true };
const KOFI: ReachContact = { id: 'kofi', name: 'Kofi', tier: 2, notifyBySms: true };
const ESI: ReachContact = { id: 'esi', name: 'Esi', tier: 3, notifyBySms: true };
const ESCALATION = { tier2AfterMs: 120_000, allAfterMs: 300_000 };

function log(contactId: string, fields: Partial<ReachLog> = {}): ReachLog {
  return {
    contactId,
    channel: 'sms',
    messageKind: 'alert',
    status: 'pending',
    response: null,
    respondedAt: null,
    errorCode: null,
    ...fields,
  };
}

/** Signed in and online; the server received the incident 1 s after the trigger. */
function input(fields: Partial<ReachInput> = {}): ReachInput {
  return {
    contacts: [MUM, DAD, KOFI, ESI],
    logs: [],
    incident: { triggeredAt: T0, receivedAt: T0 + 1_000, acknowledgedAt: null },
    serverHasIt: true,
    link: 'online',
    now: T0 + 2_000,
    escalation: ESCALATION,
    ...fields,
  };
}

const reachOf = (plan: ReturnType<typeof planReach>) =>
  Object.fromEntries(plan.contacts.map((p) => [p.contact.name, p.why ?? p.reach]));

describe('the phone takes over', () => {
  it('[SO8] a server with no SMS provider: every contact it could not reach is unreached at once, and gets their own link', () => {
    const plan = planReach(
      input({
        logs: [
          log('mum', { status: 'not_configured' }),
          log('dad', { status: 'not_configured' }),
          log('mum', { channel: 'web_push', status: 'failed' }),
        ],
      }),
    );
    expect(reachOf(plan)).toEqual({ Mum: 'sms_not_set_up', Dad: 'sms_not_set_up' });
    expect(plan.fallback.map((p) => p.contact.name)).toEqual(['Dad', 'Mum']);
    expect(plan.outcome).toBe('nobody_reached');
  });

  it('[SO8] a failed or undelivered SMS is unreached at once; one still being sent waits until 20 s after the server had it', () => {
    const logs = [log('mum', { status: 'failed' }), log('dad', { status: 'queued' })];
    const early = planReach(input({ logs, now: T0 + 1_000 + GRACE_MS - 1 }));
    expect(reachOf(early)).toEqual({ Mum: 'failed', Dad: 'waiting' });
    expect(early.outcome).toBe('waiting');
    expect(early.recheckAt).toBe(T0 + 1_000 + GRACE_MS);
    const late = planReach(input({ logs, now: T0 + 1_000 + GRACE_MS }));
    expect(reachOf(late)).toEqual({ Mum: 'failed', Dad: 'nothing_observed' });
    expect(late.outcome).toBe('nobody_reached');
    // No row at all for a contact is the same as nothing observed.
    expect(reachOf(planReach(input({ logs: [], now: T0 + 30_000 })))).toEqual({
      Mum: 'nothing_observed',
      Dad: 'nothing_observed',
    });
  });

  it('[SO8] offline, signed out, or a server that has not acknowledged within 5 s: every contact is unreached', () => {
    expect(reachOf(planReach(input({ link: 'offline', serverHasIt: false })))).toEqual({
      Mum: 'offline',
      Dad: 'offline',
    });
    expect(reachOf(planReach(input({ link: 'signed_out', serverHasIt: false })))).toEqual({
      Mum: 'signed_out',
      Dad: 'signed_out',
    });
    const noAck = input({
      serverHasIt: false,
      incident: { triggeredAt: T0, receivedAt: null, acknowledgedAt: null },
    });
    expect(planReach({ ...noAck, now: T0 + 4_999 }).outcome).toBe('waiting');
    expect(reachOf(planReach({ ...noAck, now: T0 + 5_000 }))).toEqual({
      Mum: 'server_not_reached',
      Dad: 'server_not_reached',
    });
  });

  it("[SO12] only an observation is a delivery: a carrier's sent/delivered, a receipt from their device, an answer", () => {
    const plan = planReach(
      input({
        now: T0 + 60_000,
        logs: [
          log('mum', { status: 'delivered' }),
          // A push service that took the message, and a realtime row with no receipt, showed nothing to Dad.
          log('dad', { channel: 'web_push', status: 'sent' }),
          log('dad', { channel: 'realtime', status: 'delivered' }),
          // What the user said about their own text is not an observed delivery either.
          log('dad', { channel: 'device_sms', status: 'user_confirmed_sent' }),
        ],
      }),
    );
    expect(reachOf(plan)).toEqual({ Mum: 'reached', Dad: 'nothing_observed' });
    expect(plan.fallback.map((p) => p.contact.name)).toEqual(['Dad']);
    const receipt = planReach(input({ logs: [log('dad', { channel: 'web_push', status: 'shown' })] }));
    expect(reachOf(receipt)['Dad']).toBe('reached');
    const answer = planReach(
      input({
        logs: [log('dad', { status: 'not_configured', response: 'on_my_way', respondedAt: T0 + 1_500 })],
      }),
    );
    expect(reachOf(answer)['Dad']).toBe('answered');
    expect(answer.outcome).toBe('answered');
  });

  it('[SO52] a message the carrier reported undelivered, which the server is trying again, is unreached at once', () => {
    // 30003 "phone unreachable": the server puts the row back to pending with the code and retries.
    const logs = [
      log('mum', { status: 'pending', errorCode: '30003' }),
      log('mum', { channel: 'web_push', status: 'failed', errorCode: 'no_subscription' }),
      log('dad', { status: 'pending' }),
    ];
    const plan = planReach(input({ logs }));
    expect(reachOf(plan)).toEqual({ Mum: 'failed', Dad: 'waiting' });
    expect(plan.fallback.map((p) => p.contact.name)).toEqual(['Mum']);
  });

  it('[SO53] a link once offered stays when the server acknowledges late: no delivery observed, no link taken away', () => {
    // The server answered after 10 s: 5 s after the phone had offered the links ("server not reached").
    const late = { triggeredAt: T0, receivedAt: T0 + 9_000, acknowledgedAt: null };
    const at = T0 + 10_000;
    expect(reachOf(planReach(input({ incident: late, now: at })))).toEqual({
      Mum: 'waiting',
      Dad: 'waiting',
    });
    const kept = planReach(input({ incident: late, now: at, offered: new Set(['mum', 'dad']) }));
    expect(reachOf(kept)).toEqual({ Mum: 'nothing_observed', Dad: 'nothing_observed' });
    expect(kept.fallback.map((p) => p.contact.name)).toEqual(['Dad', 'Mum']);
    // Still online and waiting for the acknowledgement: the same.
    const unacked = planReach(input({ serverHasIt: false, now: T0 + 1_000, offered: new Set(['mum']) }));
    expect(reachOf(unacked)).toEqual({ Mum: 'server_not_reached', Dad: 'waiting' });
    // An observed delivery (or a dead end, with its own reason) still decides.
    const logs = [log('mum', { status: 'delivered' }), log('dad', { status: 'not_configured' })];
    const later = planReach(input({ incident: late, now: at, logs, offered: new Set(['mum', 'dad']) }));
    expect(reachOf(later)).toEqual({ Mum: 'reached', Dad: 'sms_not_set_up' });
  });

  it('[SO8] a contact who does not take SMS is unreached but gets no link', () => {
    const plan = planReach(input({ contacts: [{ ...MUM, notifyBySms: false }, DAD], link: 'offline' }));
    expect(plan.contacts).toHaveLength(2);
    expect(plan.fallback.map((p) => p.contact.name)).toEqual(['Dad']);
  });
});

describe('escalation on the device', () => {
  it('[SO11] tier 2 after 2 minutes and everyone after 5 without an acknowledgement, offline too', () => {
    const at = (ms: number) => planReach(input({ link: 'offline', serverHasIt: false, now: T0 + ms }));
    expect(at(119_999).contacts.map((p) => p.contact.name)).toEqual(['Dad', 'Mum']);
    expect(at(119_999).nextStepAt).toBe(T0 + 120_000);
    expect(at(120_000).step).toBe(2);
    expect(at(120_000).fallback.map((p) => p.contact.name)).toEqual(['Dad', 'Mum', 'Kofi']);
    expect(at(300_000).step).toBe(3);
    expect(at(300_000).fallback.map((p) => p.contact.name)).toEqual(['Dad', 'Mum', 'Kofi', 'Esi']);
    expect(at(300_000).nextStepAt).toBeNull();
  });

  it("[SO11] the user's own escalation times are used when known", () => {
    const plan = planReach(
      input({ link: 'offline', now: T0 + 60_000, escalation: { tier2AfterMs: 60_000, allAfterMs: 90_000 } }),
    );
    expect(plan.step).toBe(2);
    expect(escalationWords(plan, { tier2AfterMs: 60_000, allAfterMs: 90_000 })).toBe(
      '1 minute without an answer: your tier-2 contacts are added.',
    );
  });

  it('[SO11] an acknowledgement stops the escalation where it was', () => {
    const plan = planReach(
      input({
        now: T0 + 400_000,
        logs: [log('mum', { status: 'delivered', response: 'acknowledged', respondedAt: T0 + 60_000 })],
      }),
    );
    expect(plan.step).toBe(1);
    expect(plan.acknowledged).toBe(true);
    expect(plan.nextStepAt).toBeNull();
  });

  it('[SO11] a newly added tier gets its own 20 s to be reached by the server', () => {
    const plan = planReach(
      input({ now: T0 + 120_000 + GRACE_MS - 1, logs: [log('mum', { status: 'delivered' })] }),
    );
    expect(reachOf(plan)['Kofi']).toBe('waiting');
    expect(plan.recheckAt).toBe(T0 + 120_000 + GRACE_MS);
  });

  it('[SO11] with no tier-1 contacts the lowest tier there is is alerted at once', () => {
    const plan = planReach(input({ contacts: [KOFI, ESI], link: 'offline' }));
    expect(plan.fallback.map((p) => p.contact.name)).toEqual(['Kofi']);
  });
});

describe('the words', () => {
  it('[SO9] nobody reached: says so with the reason and puts the emergency number first; never "nobody has answered"', () => {
    for (const ms of [2_000, 400_000]) {
      const plan = planReach(
        input({
          now: T0 + ms,
          logs: [log('mum', { status: 'not_configured' }), log('dad', { status: 'not_configured' })],
        }),
      );
      const words = reachHeadline(plan, '999');
      expect(words.title).toBe('Nobody has been reached yet');
      expect(words.reasons).toContain('The server could not send SMS: SMS is not set up on this server.');
      expect(words.urgent).toBe(true);
      expect(JSON.stringify(words)).not.toMatch(/answered/i);
    }
    expect(reachHeadline(planReach(input({ contacts: [], link: 'offline' })), '999').reasons).toEqual([
      'You have no emergency contacts.',
    ]);
  });

  it('[SO9] reached, no answer yet; after 5 minutes "Nobody has answered yet" with the number to call', () => {
    const logs = [log('mum', { status: 'delivered' })];
    expect(reachHeadline(planReach(input({ logs, now: T0 + 30_000 })), '999')).toEqual({
      title: 'Reached, no answer yet: Mum',
      reasons: [],
      urgent: false,
    });
    const late = reachHeadline(planReach(input({ logs, now: T0 + 300_000 })), '999');
    expect(late.title).toBe('Nobody has answered yet. Reached: Mum. Call 999');
    expect(late.urgent).toBe(true);
  });
});

describe('escalation words', () => {
  it('[SO11] each step says who it added, and a step that added nobody says nothing', () => {
    const at = (ms: number, contacts = [MUM, DAD, KOFI, ESI]) =>
      escalationWords(planReach(input({ contacts, link: 'offline', now: T0 + ms })), ESCALATION);
    expect(at(60_000)).toBeNull();
    expect(at(120_000)).toBe('2 minutes without an answer: your tier-2 contacts are added.');
    expect(at(300_000)).toBe('5 minutes without an answer: all your contacts are added.');
    expect(at(120_000, [MUM])).toBeNull();
    expect(at(300_000, [MUM])).toBeNull();
    expect(at(300_000, [MUM, KOFI])).toBe('2 minutes without an answer: your tier-2 contacts are added.');
  });
});
