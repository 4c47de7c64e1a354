/**
 * The SOS screen's headline and reasons, from a reach plan (contact-reach.ts), in words that never claim more
 * than was observed (SPEC SO9): "reached" only for a contact with an observed delivery, and "Nobody has answered
 * yet" only when someone was reached: when nobody was told, the screen says that nobody has been reached.
 */
import type { ContactPlan, ReachPlan, UnreachedWhy } from './contact-reach.ts';

const WHY: Readonly<Record<UnreachedWhy, string>> = {
  offline: 'You are offline, so the server cannot alert anyone.',
  signed_out: 'You are not signed in, so no server is alerting your contacts.',
  server_not_reached: 'The server has not received your SOS yet.',
  sms_not_set_up: 'The server could not send SMS: SMS is not set up on this server.',
  failed: 'The server’s messages to them failed.',
  nothing_observed: 'No delivery to them has been confirmed.',
};

/** Why one contact needs a text from this phone, in a few words (next to their link). */
const WHY_SHORT: Readonly<Record<UnreachedWhy, string>> = {
  offline: 'offline',
  signed_out: 'not signed in',
  server_not_reached: 'server not reached',
  sms_not_set_up: 'the server could not send SMS',
  failed: 'the server’s message failed',
  nothing_observed: 'no delivery confirmed',
};

export function whyShort(plan: Pick<ContactPlan, 'why'>): string {
  return plan.why === null ? '' : WHY_SHORT[plan.why];
}

const names = (plans: readonly ContactPlan[]) => plans.map((p) => p.contact.name).join(', ');

export interface ReachHeadline {
  title: string;
  /** The reasons, one sentence each (none when someone was reached). */
  reasons: string[];
  /** Show the emergency number first and loud. */
  urgent: boolean;
}

export function reachHeadline(plan: ReachPlan, emergencyNumber: string): ReachHeadline {
  const answered = plan.contacts.filter((p) => p.reach === 'answered');
  const reached = plan.contacts.filter((p) => p.reach === 'reached');
  const escalated = !plan.acknowledged && plan.step > 1;
  switch (plan.outcome) {
    case 'answered':
      return { title: `Answered: ${names(answered)}`, reasons: [], urgent: false };
    case 'reached':
      return {
        title:
          plan.step === 3 && !plan.acknowledged
            ? `Nobody has answered yet. Reached: ${names(reached)}. Call ${emergencyNumber}`
            : `Reached, no answer yet: ${names(reached)}`,
        reasons: [],
        urgent: escalated,
      };
    case 'waiting':
      return { title: 'Alerting your contacts…', reasons: [], urgent: escalated };
    case 'nobody_reached': {
      const whys = [...new Set(plan.contacts.flatMap((p) => (p.why === null ? [] : [WHY[p.why]])))];
      return {
        title: 'Nobody has been reached yet',
        reasons: plan.contacts.length === 0 ? ['You have no emergency contacts.'] : whys,
        urgent: true,
      };
    }
  }
}

/** What the latest escalation step did, when it added someone ("2 minutes without an answer…"). */
export function escalationWords(
  plan: ReachPlan,
  escalation: { tier2AfterMs: number; allAfterMs: number },
): string | null {
  if (plan.step === 1) return null;
  const starts = plan.contacts.map((p) => p.alertedAt);
  const latest = Math.max(...starts);
  if (plan.contacts.length === 0 || latest === Math.min(...starts)) return null;
  const minutes = (ms: number) => {
    const m = Math.round(ms / 60_000);
    return m === 1 ? '1 minute' : `${m} minutes`;
  };
  // The newest contacts came in with the last step that added anyone: tier 3 only with "everyone".
  return plan.contacts.some((p) => p.alertedAt === latest && p.contact.tier === 3)
    ? `${minutes(escalation.allAfterMs)} without an answer: all your contacts are added.`
    : `${minutes(escalation.tier2AfterMs)} without an answer: your tier-2 contacts are added.`;
}
