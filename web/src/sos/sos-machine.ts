/**
 * The SOS flow's states and what each event does in each of them (SPEC SO7). Pure: the controller
 * (sos-flow.ts) runs the effects of entering and leaving a state; this table only says where an event leads.
 *
 * ```
 *            press                countdown_end / send_now
 *   idle ─────────────▶ countdown ─────────────────────────▶ committing ──committed──▶ open
 *    ▲  ╲ (0 s countdown: press ─▶ committing)  │    │                        │         │ resolve
 *    │   ╲ adopt (an incident open before a reload) ───────────────────────────────────▶│
 *    │                                  cancel  │    │ duress                 │         ▼
 *    │                                          ▼    └──────────▶ committing ─┘       closed
 *    │                                      cancelled ◀──committed_duress── (shown as a cancel)
 *    └──────────────────────── dismiss ──────────┴──────────────────────────────────────┘
 * ```
 *
 * A duress PIN at the countdown commits the incident and then ends in `cancelled`, so the screen shows exactly
 * what a normal cancel shows (the server escalates silently, AL6). `null` means the event changes nothing in
 * that state (a second press during a countdown, a cancel after the commit). The table is typed
 * `{ [state]: { [event]: next | null } }`, so adding a state or an event without deciding every pair fails to
 * compile.
 */
export const SOS_STATES = ['idle', 'countdown', 'committing', 'open', 'closed', 'cancelled'] as const;
export type SosState = (typeof SOS_STATES)[number];

export const SOS_EVENTS = [
  /** The SOS button (or the /?sos=1 shortcut) with a countdown. */
  'press',
  /** The SOS button with no countdown set (0 s): straight to the commit. */
  'press_now',
  'countdown_end',
  'send_now',
  'cancel',
  /** The duress PIN at the countdown. */
  'duress',
  'committed',
  'committed_duress',
  /** "I'm safe" (or the duress PIN at "I'm safe", which looks the same). */
  'resolve',
  /** An incident that was open before a reload, or opened by another tab. */
  'adopt',
  'dismiss',
] as const;
export type SosEvent = (typeof SOS_EVENTS)[number];

type Table = { readonly [S in SosState]: { readonly [E in SosEvent]: SosState | null } };

const TRANSITIONS: Table = {
  idle: {
    press: 'countdown',
    press_now: 'committing',
    countdown_end: null,
    send_now: null,
    cancel: null,
    duress: null,
    committed: null,
    committed_duress: null,
    resolve: null,
    adopt: 'open',
    dismiss: null,
  },
  countdown: {
    press: null,
    press_now: null,
    countdown_end: 'committing',
    send_now: 'committing',
    cancel: 'cancelled',
    duress: 'committing',
    committed: null,
    committed_duress: null,
    resolve: null,
    // Another tab's incident does not end this countdown: the user is deciding about a new one.
    adopt: null,
    dismiss: null,
  },
  committing: {
    press: null,
    press_now: null,
    countdown_end: null,
    send_now: null,
    // Too late: the incident is being saved. "I'm safe" on the open screen ends it.
    cancel: null,
    duress: null,
    committed: 'open',
    committed_duress: 'cancelled',
    resolve: null,
    adopt: null,
    dismiss: null,
  },
  open: {
    // The SOS screen shows the open incident instead of starting a second one.
    press: null,
    press_now: null,
    countdown_end: null,
    send_now: null,
    cancel: null,
    duress: null,
    committed: null,
    committed_duress: null,
    resolve: 'closed',
    adopt: null,
    dismiss: 'idle',
  },
  closed: {
    press: 'countdown',
    press_now: 'committing',
    countdown_end: null,
    send_now: null,
    cancel: null,
    duress: null,
    committed: null,
    committed_duress: null,
    resolve: null,
    adopt: 'open',
    dismiss: 'idle',
  },
  cancelled: {
    press: 'countdown',
    press_now: 'committing',
    countdown_end: null,
    send_now: null,
    cancel: null,
    duress: null,
    committed: null,
    committed_duress: null,
    resolve: null,
    adopt: 'open',
    dismiss: 'idle',
  },
};

/** Where `event` leads from `state`, or null when it changes nothing there. */
export function nextSosState(state: SosState, event: SosEvent): SosState | null {
  return TRANSITIONS[state][event];
}
