/**
 * The incident state machine, shared by the server (which folds each event, in arrival order, into the incident's
 * status) and the device (which applies the same step optimistically, so what it shows matches what the server
 * will decide). Devices append events (`incident.event@1`). Creation always succeeds (`incident.trigger@1`),
 * terminal states absorb whatever arrives later, and an illegal transition is stored and reported, never dropped.
 *
 * ```
 *             acknowledged
 *   active ───────────────▶ acknowledged
 *     │  ╲                    │      │
 *     │   ╲ resolved          │      │ resolved / cancelled
 *     │    ╲─────────────▶ resolved ◀┘  (terminal: absorbs every later event)
 *     │ cancelled                ▲
 *     └───────────────────▶ cancelled   (terminal; a duress cancel looks the same but escalates silently)
 * ```
 *
 * `location`, `sms_composer_opened` and `sms_user_reported` are recorded in any open state without changing it.
 * A second `acknowledged` is illegal: the incident already is, and the device is told so.
 *
 * The table is typed `{ [state]: { [event]: Step } }`, so adding a state or an event type without deciding every
 * pair fails to compile.
 */
import type { INCIDENT_EVENT_TYPES } from './mutators.ts';
import type { IncidentStatus } from './incident-status.ts';

export type IncidentEventType = (typeof INCIDENT_EVENT_TYPES)[number];

export type Step =
  /** The event takes effect; `to` is the status afterwards (the same one for events that only add facts). */
  | { outcome: 'applied'; to: IncidentStatus }
  /** The incident was already over; the event is kept for the record and changes nothing. */
  | { outcome: 'absorbed' }
  /** The event makes no sense in this state; kept for the record, reported as `illegal_transition`. */
  | { outcome: 'illegal'; why: string };

const stay = (to: IncidentStatus): Step => ({ outcome: 'applied', to });
const absorbed: Step = { outcome: 'absorbed' };

const TRANSITIONS: { readonly [S in IncidentStatus]: { readonly [E in IncidentEventType]: Step } } = {
  active: {
    location: stay('active'),
    acknowledged: { outcome: 'applied', to: 'acknowledged' },
    resolved: { outcome: 'applied', to: 'resolved' },
    cancelled: { outcome: 'applied', to: 'cancelled' },
    sms_composer_opened: stay('active'),
    sms_user_reported: stay('active'),
  },
  acknowledged: {
    location: stay('acknowledged'),
    acknowledged: {
      outcome: 'illegal',
      why: 'This alert was already acknowledged; nothing changed. No action needed.',
    },
    resolved: { outcome: 'applied', to: 'resolved' },
    cancelled: { outcome: 'applied', to: 'cancelled' },
    sms_composer_opened: stay('acknowledged'),
    sms_user_reported: stay('acknowledged'),
  },
  resolved: {
    location: absorbed,
    acknowledged: absorbed,
    resolved: absorbed,
    cancelled: absorbed,
    sms_composer_opened: absorbed,
    sms_user_reported: absorbed,
  },
  cancelled: {
    location: absorbed,
    acknowledged: absorbed,
    resolved: absorbed,
    cancelled: absorbed,
    sms_composer_opened: absorbed,
    sms_user_reported: absorbed,
  },
};

export function stepIncident(status: IncidentStatus, event: IncidentEventType): Step {
  return TRANSITIONS[status][event];
}
