/**
 * The SOS flow, owned by the app (not by a screen) so it keeps running when the user looks at another screen.
 * Its states and events are the table in sos-machine.ts; this module runs the effects of each transition:
 *
 * - entering `countdown`: the alarm (unless silent) and a 100 ms tick; leaving it stops both;
 * - entering `committing`: the incident is committed locally with the best fix so far (never waiting for
 *   Geolocation), then `committed` (or `committed_duress`, which records a duress cancel and shows a cancel);
 * - entering `open`: a sync round at once, and location every 60 s for 10 min, then every 5 min;
 * - entering `closed` (after "I'm safe") or `idle`: the location timer stops.
 *
 * Nothing here needs the network, a browser or a clock of its own: the clock, timers, geolocation, connectivity,
 * the alarm and the store are passed in (sos-flow-browser.ts gives the page's), so the unit tests run it with a
 * fake clock (SPEC SO7). Who was reached, and the phone's own SMS, are decided by the screen from the ledger
 * (contact-reach.ts): the flow only says how this device stands towards the server (`link`).
 */
import { createSignal, type Accessor } from 'solid-js';
import type { Location } from '@vitalwatch/schema/protocol/common';
import { isOpenIncident, type IncidentStatus } from '@vitalwatch/schema/protocol/incident-status';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import type { Timers } from '../sync/sync-loop.ts';
import type { PinHash } from '../device/prefs.ts';
import type { SosLink } from './contact-reach.ts';
import type { BestFix, LocationFix } from './location-fix.ts';
import { nextLocationDelayMs } from './location-schedule.ts';
import { nextSosState, type SosEvent, type SosState } from './sos-machine.ts';
import type { SosSettings } from './sos-settings.ts';

export type CountdownState = { endsAt: number; remainingS: number; totalS: number };

export type TriggerArgs = MutatorArgs<'incident.trigger@1'>;
export type EventFields = Omit<MutatorArgs<'incident.event@1'>, 'id' | 'incidentId' | 'at'>;

/** Positions: a tracker started at the press, and one fix on demand. */
export interface GeolocationPort {
  track(lastKnown: LocationFix | null, remember: (fix: LocationFix) => void): FixTracker;
  current(): Promise<LocationFix | null>;
}
export interface FixTracker {
  best(): BestFix | null;
  readonly fresh: Promise<LocationFix | null>;
}

export interface ConnectivityPort {
  online(): boolean;
  signedIn(): Promise<boolean>;
  /** Calls back when `online()` may have changed; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
}

/** Where the flow writes: the mutators (the outbox) and the local incident row. */
export interface SosStore {
  trigger(args: TriggerArgs): Promise<void>;
  event(incidentId: string, at: number, fields: EventFields): Promise<void>;
  status(incidentId: string): Promise<IncidentStatus | undefined>;
  /** Asks the sync loop for a round now (the critical lane goes first). */
  syncNow(): void;
}

export interface SosFlowDeps {
  timers: Timers;
  geolocation: GeolocationPort;
  connectivity: ConnectivityPort;
  store: SosStore;
  settings: () => SosSettings;
  remember: (fix: LocationFix) => void;
  /** Starts the countdown's alarm; returns its stop. */
  startAlarm: () => () => void;
  verifyPin: (pin: string, stored: PinHash) => Promise<boolean>;
  newId: () => string;
  newCode: () => string;
  utcOffsetMinutes: (at: number) => number;
  /** Called as the local commit starts; the function it returns as it ends (the bench's measure). */
  measureCommit?: () => () => void;
}

export interface SosFlow {
  readonly state: Accessor<SosState>;
  /** The SOS settings as the flow reads them (sos-settings.ts): the screen reads the same. */
  readonly settings: () => SosSettings;
  readonly countdown: Accessor<CountdownState | null>;
  /** The incident this flow committed or adopted most recently (stays after "I'm safe", for the all-clear). */
  readonly incidentId: Accessor<string | null>;
  /** This SOS is silent: no alarm, no vibration, a dim screen. */
  readonly silent: Accessor<boolean>;
  /** How this device stands towards the server, for contact-reach.ts. */
  readonly link: Accessor<SosLink>;
  /** A countdown was cancelled (normally or with the duress PIN: the screen must not tell them apart). */
  readonly cancelled: Accessor<boolean>;
  /** `silent`: this SOS makes no sound whatever the setting (the long press). */
  start(options?: { silent?: boolean }): void;
  /** `pin` is required when a cancel PIN is set; returns false when it is wrong. */
  cancel(pin?: string): Promise<boolean>;
  /** Commit now, skipping the rest of the countdown. */
  sendNow(): Promise<void>;
  /** "I'm safe". Returns false for a wrong PIN. */
  resolve(incidentId: string, pin?: string): Promise<boolean>;
  /** The messaging app was opened for this one contact (SPEC SO2: one recipient per message). */
  recordSmsOpened(incidentId: string, contactId: string): Promise<void>;
  /** The user's answer to "Did it send?" for this contact's message; the server then leaves them out (AL3). */
  recordSmsAnswer(incidentId: string, contactId: string, sent: boolean): Promise<void>;
  /** Take over an incident that was open before a reload: location updates resume. */
  adopt(incidentId: string, triggeredAt: number): void;
  dismiss(): void;
}

function toLocation(fix: LocationFix): Location {
  return { lat: fix.lat, lng: fix.lng, accuracyM: fix.accuracyM, at: fix.at };
}

export function createSosFlow(deps: SosFlowDeps): SosFlow {
  const { timers, store } = deps;
  const [state, setState] = createSignal<SosState>('idle');
  const [countdown, setCountdown] = createSignal<CountdownState | null>(null);
  const [incidentId, setIncidentId] = createSignal<string | null>(null);
  const [silent, setSilent] = createSignal(false);
  const [link, setLink] = createSignal<SosLink>('online');
  let tick: unknown;
  let locationTimer: unknown;
  let stopAlarm: (() => void) | undefined;
  let tracker: FixTracker | undefined;
  let duressCommit = false;
  /** Incidents cancelled with the duress PIN: never shown or taken over, or the screen would give them away. */
  const hidden = new Set<string>();

  const event = (id: string, fields: EventFields) => store.event(id, timers.now(), fields);

  /** Runs one event through the table; false (and nothing happens) when it changes nothing in this state. */
  function send(what: SosEvent): boolean {
    const from = state();
    const to = nextSosState(from, what);
    if (to === null) return false;
    if (from === 'countdown') stopCountdown();
    if (to === 'idle' || to === 'closed') {
      timers.clearTimeout(locationTimer);
      locationTimer = undefined;
    }
    setState(to);
    return true;
  }

  function stopCountdown(): void {
    timers.clearTimeout(tick);
    tick = undefined;
    stopAlarm?.();
    stopAlarm = undefined;
    setCountdown(null);
  }

  async function refreshLink(): Promise<void> {
    if (!deps.connectivity.online()) setLink('offline');
    else setLink((await deps.connectivity.signedIn()) ? 'online' : 'signed_out');
  }
  deps.connectivity.subscribe(() => void refreshLink());
  void refreshLink();

  function scheduleLocation(id: string, triggeredAt: number): void {
    timers.clearTimeout(locationTimer);
    locationTimer = timers.setTimeout(
      () => {
        void (async () => {
          const status = await store.status(id);
          if (status === undefined || !isOpenIncident({ status })) return;
          const fix = await deps.geolocation.current();
          if (fix !== null) {
            deps.remember(fix);
            await event(id, { type: 'location', location: toLocation(fix) });
          }
          if (incidentId() === id && state() === 'open') scheduleLocation(id, triggeredAt);
        })();
      },
      nextLocationDelayMs(timers.now() - triggeredAt),
    );
  }

  function openIncident(id: string, triggeredAt: number): void {
    setIncidentId(id);
    scheduleLocation(id, triggeredAt);
    void refreshLink();
    store.syncNow();
  }

  async function commit(): Promise<void> {
    const duress = duressCommit;
    duressCommit = false;
    const id = deps.newId();
    if (duress) hidden.add(id);
    const pending = tracker;
    tracker = undefined;
    const best = pending?.best() ?? null;
    const triggeredAt = timers.now();
    const measured = deps.measureCommit?.();
    await store.trigger({
      id,
      code: deps.newCode(),
      trigger: 'panic_button',
      triggeredAt,
      utcOffsetMinutes: deps.utcOffsetMinutes(triggeredAt),
      ...(best === null ? {} : { location: toLocation(best.fix) }),
    });
    measured?.();
    if (duress) {
      // Looks like a cancel on screen; the server escalates silently (AL6).
      await event(id, { type: 'cancelled', duress: true });
      send('committed_duress');
      return;
    }
    send('committed');
    openIncident(id, triggeredAt);
    if (best?.source !== 'fresh' && pending !== undefined) {
      void pending.fresh.then((fix) =>
        fix === null ? undefined : event(id, { type: 'location', location: toLocation(fix) }),
      );
    }
  }

  /** Into `committing` (from the table), then the commit itself. */
  function commitOn(what: SosEvent): Promise<void> {
    return send(what) ? commit() : Promise.resolve();
  }

  function runTick(endsAt: number, totalS: number): void {
    const remainingS = Math.max(0, Math.ceil((endsAt - timers.now()) / 1000));
    if (remainingS === 0) {
      void commitOn('countdown_end');
      return;
    }
    setCountdown({ endsAt, remainingS, totalS });
    tick = timers.setTimeout(() => runTick(endsAt, totalS), 100);
  }

  return {
    state,
    settings: deps.settings,
    countdown,
    incidentId,
    silent,
    link,
    cancelled: () => state() === 'cancelled',
    start(options = {}) {
      const settings = deps.settings();
      const quiet = options.silent === true || settings.silent;
      const zero = settings.countdownSeconds === 0;
      if (nextSosState(state(), zero ? 'press_now' : 'press') === null) return;
      setSilent(quiet);
      tracker = deps.geolocation.track(settings.lastFix, deps.remember);
      if (zero) {
        void commitOn('press_now');
        return;
      }
      send('press');
      if (!quiet) stopAlarm = deps.startAlarm();
      const totalS = settings.countdownSeconds;
      runTick(timers.now() + totalS * 1000, totalS);
    },
    async cancel(pin) {
      if (state() !== 'countdown') return true;
      const { cancelPin, duressPin } = deps.settings();
      if (duressPin !== null && pin !== undefined && (await deps.verifyPin(pin, duressPin))) {
        duressCommit = true;
        await commitOn('duress');
        return true;
      }
      if (cancelPin !== null && (pin === undefined || !(await deps.verifyPin(pin, cancelPin)))) return false;
      tracker = undefined;
      send('cancel');
      return true;
    },
    sendNow: () => commitOn('send_now'),
    async resolve(id, pin) {
      const { cancelPin, duressPin } = deps.settings();
      if (duressPin !== null && pin !== undefined && (await deps.verifyPin(pin, duressPin))) {
        await event(id, { type: 'cancelled', duress: true });
      } else {
        if (cancelPin !== null && (pin === undefined || !(await deps.verifyPin(pin, cancelPin))))
          return false;
        await event(id, { type: 'resolved' });
      }
      send('resolve');
      return true;
    },
    async recordSmsOpened(id, contactId) {
      await event(id, { type: 'sms_composer_opened', contactIds: [contactId] });
    },
    async recordSmsAnswer(id, contactId, sent) {
      await event(id, { type: 'sms_user_reported', contactIds: [contactId], sent });
    },
    adopt(id, triggeredAt) {
      if (incidentId() === id || hidden.has(id)) return;
      if (!send('adopt')) return;
      openIncident(id, triggeredAt);
    },
    dismiss() {
      send('dismiss');
      setIncidentId(null);
      setSilent(false);
    },
  };
}
