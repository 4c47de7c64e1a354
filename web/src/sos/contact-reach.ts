/**
 * Who has been reached, decided on the device from what it observed (SPEC SO8–SO12): for every contact of the
 * current escalation step, whether the ledger (`alert_logs`, pulled from the server) shows an observed delivery,
 * and so whether the phone must take over with that contact's own `sms:` link. Pure: the SOS screen passes the
 * rows, the link and the time, and re-asks at `recheckAt`.
 *
 * Observed means: the carrier said `sent`/`delivered`/`read` for an SMS; the contact's own device said it showed
 * the alert (Web Push or their open app: the `shown` receipt); or the contact answered. A push service that took a
 * message (`sent` on `web_push`) has shown nothing to anyone, so it is not a delivery. Which row counts is decided
 * in one place for the whole project: `alertReach` in schema/src/protocol/alert-status.ts (SPEC AL30).
 *
 * Escalation follows the server's tiers (AL2) on the device's clock, counted from the trigger: the first tier
 * that has contacts at once, tier 2 after `tier2AfterMs` (2 min), everyone after `allAfterMs` (5 min), unless a
 * contact acknowledged first. So offline, or when the server reaches nobody, the phone still widens the circle.
 */
import { alertReach, isObservedReach } from '@vitalwatch/schema/protocol/alert-status';
import type { AlertLogRow, ContactRow, IncidentRow } from '@vitalwatch/schema/protocol/rows';

/** How this device stands towards the server for this incident. */
export type SosLink = 'offline' | 'signed_out' | 'online';

/** One contact's state in the current step, from the most to the least reassuring. */
export type Reach =
  /** Said they are coming or acknowledged. */
  | 'answered'
  /** A delivery was observed (or they answered "can't help"); no answer yet. */
  | 'reached'
  /** The server has the incident and is still trying, within the grace period. */
  | 'waiting'
  /** Nothing observed: the phone must text them. */
  | 'unreached';

/** Why a contact is unreached, for the words on screen. */
export type UnreachedWhy =
  | 'offline'
  | 'signed_out'
  /** Online, but the server has not acknowledged the incident. */
  | 'server_not_reached'
  /** The server has no SMS provider (`not_configured`) and nothing else reached them. */
  | 'sms_not_set_up'
  /** `failed` / `undelivered` / `canceled`. */
  | 'failed'
  /** Still pending, or no row at all, GRACE_MS after the server had the incident. */
  | 'nothing_observed';

/** After the server has the incident, this long without an observed delivery and the phone takes over. */
export const GRACE_MS = 20_000;
/** Online, but the server has not acknowledged the trigger this long after it: the phone takes over. */
export const SERVER_ACK_WAIT_MS = 5_000;

export type ReachContact = Pick<ContactRow, 'id' | 'name' | 'tier' | 'notifyBySms'>;
export type ReachLog = Pick<
  AlertLogRow,
  'contactId' | 'channel' | 'messageKind' | 'status' | 'response' | 'respondedAt' | 'errorCode'
>;

/**
 * A row the server is trying again after a reported failure (`pending` with the failure's code, e.g. Twilio's
 * 30003 "phone unreachable" after an `undelivered`): for the phone's takeover it counts as failed (SPEC SO52).
 * The server may still get through later; the phone does not wait for it.
 */
function retryingAfterFailure(row: ReachLog): boolean {
  return row.status === 'pending' && row.errorCode !== null;
}

export interface ReachInput<C extends ReachContact = ReachContact> {
  contacts: readonly C[];
  logs: readonly ReachLog[];
  incident: Pick<IncidentRow, 'triggeredAt' | 'receivedAt' | 'acknowledgedAt'>;
  /** The server acknowledged the trigger (trigger-acknowledged.ts). */
  serverHasIt: boolean;
  link: SosLink;
  now: number;
  escalation: { tier2AfterMs: number; allAfterMs: number };
  /**
   * Contacts this incident's screen has already offered a link to (SPEC SO53): they keep it until a delivery to
   * them is observed or they answer, even when the server's acknowledgement comes after it (a slow server) and
   * they would otherwise be back in the grace period. A link must not vanish under a frightened person's finger.
   */
  offered?: ReadonlySet<string>;
}

export interface ContactPlan<C extends ReachContact = ReachContact> {
  contact: C;
  reach: Reach;
  /** Set when `reach` is `unreached`. */
  why: UnreachedWhy | null;
  /** When this contact's step began (ms): the trigger for the first tier. */
  alertedAt: number;
}

export interface ReachPlan<C extends ReachContact = ReachContact> {
  /** 1: the first tier; 2: tier 2 added; 3: everyone. */
  step: 1 | 2 | 3;
  /** The contacts of every tier alerted so far, tier then name order. */
  contacts: ContactPlan<C>[];
  /**
   * `answered`: someone acknowledged; `reached`: someone was reached, nobody answered; `waiting`: the server is
   * still trying; `nobody_reached`: nobody was told (never "nobody has answered": nobody could).
   */
  outcome: 'answered' | 'reached' | 'waiting' | 'nobody_reached';
  /** Unreached contacts who take SMS, in order: the phone's fallback, one link each. */
  fallback: ContactPlan<C>[];
  acknowledged: boolean;
  /** When the next escalation step is due (null: none, or stopped by an acknowledgement). */
  nextStepAt: number | null;
  /** The earliest time this plan may change with no new rows (a grace period or a step ending). */
  recheckAt: number | null;
}

function answeredYes(row: ReachLog): boolean {
  return row.response === 'acknowledged' || row.response === 'on_my_way';
}

/** When the first acknowledgement was observed, if any (escalation stops there). */
function acknowledgedAt(input: ReachInput<ReachContact>): number | null {
  const times = input.logs.filter(answeredYes).map((r) => r.respondedAt ?? input.now);
  if (input.incident.acknowledgedAt !== null) times.push(input.incident.acknowledgedAt);
  return times.length === 0 ? null : Math.min(...times);
}

export function planReach<C extends ReachContact>(input: ReachInput<C>): ReachPlan<C> {
  const { contacts, logs, incident, now, escalation } = input;
  const ackAt = acknowledgedAt(input);
  // Escalation is judged at the moment of the acknowledgement, if there was one: it stops there.
  const clock = ackAt === null ? now : Math.min(now, ackAt);
  const elapsed = clock - incident.triggeredAt;
  const step: 1 | 2 | 3 = elapsed >= escalation.allAfterMs ? 3 : elapsed >= escalation.tier2AfterMs ? 2 : 1;
  const firstTier = Math.min(...contacts.map((c) => c.tier));
  const tierStart = (tier: number) => {
    if (tier <= firstTier) return incident.triggeredAt;
    if (tier === 2) return incident.triggeredAt + escalation.tier2AfterMs;
    return incident.triggeredAt + escalation.allAfterMs;
  };
  const inStep = (tier: number) => tier <= firstTier || step === 3 || (step === 2 && tier === 2);
  const serverFrom = incident.receivedAt ?? incident.triggeredAt;
  const recheck: number[] = [];

  const plans = contacts
    .filter((c) => inStep(c.tier))
    .sort((a, b) => a.tier - b.tier || a.name.localeCompare(b.name))
    .map((contact): ContactPlan<C> => {
      const alertedAt = tierStart(contact.tier);
      const mine = logs.filter(
        (r) => r.contactId === contact.id && (r.messageKind === 'alert' || r.messageKind === 'escalation'),
      );
      const plan = (reach: Reach, why: UnreachedWhy | null = null) => ({ contact, reach, why, alertedAt });
      if (mine.some(answeredYes)) return plan('answered');
      if (mine.some(isObservedReach)) return plan('reached');
      if (input.link !== 'online') return plan('unreached', input.link);
      const offered = input.offered?.has(contact.id) === true;
      if (!input.serverHasIt) {
        const until = incident.triggeredAt + SERVER_ACK_WAIT_MS;
        if (now < until && !offered) {
          recheck.push(until);
          return plan('waiting');
        }
        return plan('unreached', 'server_not_reached');
      }
      const server = mine.filter((r) => r.channel !== 'device_sms');
      if (
        server.length > 0 &&
        server.every((r) => alertReach(r) === 'not_reached' || retryingAfterFailure(r))
      ) {
        return plan(
          'unreached',
          server.some((r) => r.channel === 'sms' && r.status === 'not_configured') &&
            !server.some((r) => r.channel === 'sms' && r.status !== 'not_configured')
            ? 'sms_not_set_up'
            : 'failed',
        );
      }
      const until = Math.max(serverFrom, alertedAt) + GRACE_MS;
      if (now < until && !offered) {
        recheck.push(until);
        return plan('waiting');
      }
      return plan('unreached', 'nothing_observed');
    });

  const nextStepAt =
    ackAt !== null || step === 3
      ? null
      : incident.triggeredAt + (step === 1 ? escalation.tier2AfterMs : escalation.allAfterMs);
  if (nextStepAt !== null) recheck.push(nextStepAt);
  const has = (reach: Reach) => plans.some((p) => p.reach === reach);
  return {
    step,
    contacts: plans,
    outcome: has('answered')
      ? 'answered'
      : has('reached')
        ? 'reached'
        : has('waiting')
          ? 'waiting'
          : 'nobody_reached',
    fallback: plans.filter((p) => p.reach === 'unreached' && p.contact.notifyBySms),
    acknowledged: ackAt !== null,
    nextStepAt,
    recheckAt: recheck.length === 0 ? null : Math.min(...recheck),
  };
}
