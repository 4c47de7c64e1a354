/**
 * The SOS flow, owned by the app (not by a screen) so it keeps running when the user looks at another screen.
 *
 *   idle ──press──▶ countdown ──0 s──▶ open (incident committed locally)
 *                      │  cancel ─▶ idle          │ online: critical push at once; "received by the server"
 *                      │  duress PIN ─▶ committed │   only once the server acknowledged the trigger
 *                      │    + cancelled(duress),  │ offline, not signed in, or no ack within FALLBACK_AFTER_MS:
 *                      │    shown as a cancel     │   SMS fallback (link shown, opened once automatically)
 *                      ▼                          │ location every 60 s for 10 min, then every 5 min
 *                                                 ▼ "I'm safe" ─▶ resolved (offline: all-clear SMS link)
 *
 * Nothing here needs the network. The incident is committed without waiting for Geolocation: the fix tracker
 * starts at the press, and a fresh fix that arrives after the commit is recorded as a location event.
 */
import { createSignal, type Accessor } from 'solid-js';
import { newId } from '@vitalwatch/schema/ids';
import { deviceUtcOffsetMinutes } from '@vitalwatch/schema/sms/sms-time';
import type { Location } from '@vitalwatch/schema/protocol/common';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import type { Device } from '../device/device.ts';
import type { PrefsStore } from '../device/prefs.ts';
import { startAlarm } from '../device/alarm.ts';
import { currentFix, trackBestFix, type FixTracker } from '../device/geolocation.ts';
import { verifyPin } from '../device/pin.ts';
import { newIncidentCode } from '@vitalwatch/schema/incident-code';
import { nextLocationDelayMs } from '../sos/location-schedule.ts';
import type { LocationFix } from '../sos/location-fix.ts';
import { readSession } from '../sync/auth-session.ts';
import type { LocalDb } from '../sync/local-db.ts';

/** Without an acknowledgement from the server this long after the commit, the SMS fallback opens. */
export const FALLBACK_AFTER_MS = 5_000;

export type CountdownState = { endsAt: number; remainingS: number; totalS: number };

export interface SosFlow {
  readonly countdown: Accessor<CountdownState | null>;
  /** The incident this flow committed most recently (stays after it is resolved, for the all-clear). */
  readonly incidentId: Accessor<string | null>;
  /** The SMS fallback is due: offline, signed out, or no acknowledgement in time. */
  readonly fallback: Accessor<boolean>;
  /** A countdown was cancelled (normally or with the duress PIN: the screen must not tell them apart). */
  readonly cancelled: Accessor<boolean>;
  start(): void;
  /** `pin` is required when a cancel PIN is set; returns false when it is wrong. */
  cancel(pin?: string): Promise<boolean>;
  /** Commit now, skipping the rest of the countdown. */
  sendNow(): Promise<void>;
  /** "I'm safe". Returns false for a wrong PIN. */
  resolve(incidentId: string, pin?: string): Promise<boolean>;
  /** The messaging app was opened for this one contact (SPEC SO2: one recipient per message). */
  recordSmsOpened(incidentId: string, contactId: string): Promise<void>;
  /** The user's answer to "Did it send?" for this contact's message. */
  recordSmsAnswer(incidentId: string, contactId: string, sent: boolean): Promise<void>;
  /** Take over an incident that was open before a reload: location updates and the fallback check resume. */
  adopt(incidentId: string, triggeredAt: number): void;
  dismiss(): void;
}

/**
 * The server acknowledged the incident's trigger: its outbox entry is gone. Later entries (location updates, the
 * SMS answers) do not count: the incident is at the server even while they wait. The only source of "received
 * by the server" on screen, and of the fallback's "no acknowledgement" decision.
 */
export async function triggerAcknowledged(db: LocalDb, incidentId: string): Promise<boolean> {
  const pending = await db.outbox
    .where('refs')
    .equals(`emergency_incidents/${incidentId}`)
    .filter((entry) => entry.name === 'incident.trigger@1')
    .count();
  return pending === 0;
}

function toLocation(fix: LocationFix): Location {
  return { lat: fix.lat, lng: fix.lng, accuracyM: fix.accuracyM, at: fix.at };
}

export function createSosFlow(device: Device, prefsStore: PrefsStore): SosFlow {
  const [countdown, setCountdown] = createSignal<CountdownState | null>(null);
  const [incidentId, setIncidentId] = createSignal<string | null>(null);
  const [fallback, setFallback] = createSignal(false);
  const [cancelled, setCancelled] = createSignal(false);
  let tick: ReturnType<typeof setInterval> | undefined;
  let stopAlarm: (() => void) | undefined;
  let tracker: FixTracker | undefined;
  let locationTimer: ReturnType<typeof setTimeout> | undefined;
  let fallbackTimer: ReturnType<typeof setTimeout> | undefined;
  let committing = false;
  /** Incidents cancelled with the duress PIN: never shown or taken over, or the screen would give them away. */
  const silent = new Set<string>();

  const remember = (fix: LocationFix) => prefsStore.update({ lastFix: fix });
  type EventFields = Omit<MutatorArgs<'incident.event@1'>, 'id' | 'incidentId' | 'at'>;
  const event = (incident: string, fields: EventFields) =>
    device.mutators.recordIncidentEvent({ id: newId(), incidentId: incident, at: Date.now(), ...fields });

  function stopCountdown(): void {
    clearInterval(tick);
    tick = undefined;
    stopAlarm?.();
    stopAlarm = undefined;
    setCountdown(null);
  }

  function scheduleLocation(id: string, triggeredAt: number): void {
    clearTimeout(locationTimer);
    locationTimer = setTimeout(
      () => {
        void (async () => {
          const row = await device.db.emergency_incidents.get(id);
          if (row === undefined || row.status === 'resolved' || row.status === 'cancelled') return;
          const fix = await currentFix();
          if (fix !== null) {
            remember(fix);
            await event(id, { type: 'location', location: toLocation(fix) });
          }
          scheduleLocation(id, triggeredAt);
        })();
      },
      nextLocationDelayMs(Date.now() - triggeredAt),
    );
  }

  async function watchForFallback(id: string): Promise<void> {
    clearTimeout(fallbackTimer);
    const signedIn = (await readSession(device.db)) !== null;
    if (!navigator.onLine || !signedIn) {
      setFallback(true);
      return;
    }
    void device.loop.syncNow();
    fallbackTimer = setTimeout(() => {
      void triggerAcknowledged(device.db, id).then((acked) => setFallback(!acked));
    }, FALLBACK_AFTER_MS);
  }

  async function commit(duress: boolean): Promise<void> {
    if (committing) return;
    committing = true;
    try {
      stopCountdown();
      const id = newId<string>();
      if (duress) silent.add(id);
      const best = tracker?.best() ?? null;
      const triggeredAt = Date.now();
      const started = performance.now();
      await device.mutators.triggerIncident({
        id,
        code: newIncidentCode(),
        trigger: 'panic_button',
        triggeredAt,
        utcOffsetMinutes: deviceUtcOffsetMinutes(triggeredAt),
        ...(best === null ? {} : { location: toLocation(best.fix) }),
      });
      // Budget: ≤ 50 ms from the end of the countdown to the committed incident (pnpm bench:web reads this).
      performance.measure('vw-sos-local-commit', { start: started });
      if (duress) {
        // Looks like a cancel on screen; the server escalates silently (issue #5).
        await event(id, { type: 'cancelled', duress: true });
        setCancelled(true);
        return;
      }
      setIncidentId(id);
      setFallback(false);
      const pendingFix = tracker;
      if (best?.source !== 'fresh' && pendingFix !== undefined) {
        void pendingFix.fresh.then((fix) =>
          fix === null ? undefined : event(id, { type: 'location', location: toLocation(fix) }),
        );
      }
      scheduleLocation(id, triggeredAt);
      await watchForFallback(id);
    } finally {
      committing = false;
      tracker = undefined;
    }
  }

  return {
    countdown,
    incidentId,
    fallback,
    cancelled,
    start() {
      if (countdown() !== null || committing) return;
      setCancelled(false);
      const { countdownSeconds, lastFix } = prefsStore.prefs();
      tracker = trackBestFix(lastFix, remember);
      if (countdownSeconds === 0) {
        void commit(false);
        return;
      }
      const endsAt = Date.now() + countdownSeconds * 1000;
      setCountdown({ endsAt, remainingS: countdownSeconds, totalS: countdownSeconds });
      stopAlarm = startAlarm();
      tick = setInterval(() => {
        const remainingS = Math.max(0, Math.ceil((endsAt - Date.now()) / 1000));
        if (remainingS === 0) void commit(false);
        else setCountdown({ endsAt, remainingS, totalS: countdownSeconds });
      }, 100);
    },
    async cancel(pin) {
      if (countdown() === null) return true;
      const { cancelPin, duressPin } = prefsStore.prefs();
      if (duressPin !== null && pin !== undefined && (await verifyPin(pin, duressPin))) {
        await commit(true);
        return true;
      }
      if (cancelPin !== null && (pin === undefined || !(await verifyPin(pin, cancelPin)))) return false;
      stopCountdown();
      tracker = undefined;
      setCancelled(true);
      return true;
    },
    sendNow: () => commit(false),
    async resolve(id, pin) {
      const { cancelPin, duressPin } = prefsStore.prefs();
      if (duressPin !== null && pin !== undefined && (await verifyPin(pin, duressPin))) {
        await event(id, { type: 'cancelled', duress: true });
      } else {
        if (cancelPin !== null && (pin === undefined || !(await verifyPin(pin, cancelPin)))) return false;
        await event(id, { type: 'resolved' });
      }
      clearTimeout(locationTimer);
      clearTimeout(fallbackTimer);
      return true;
    },
    async recordSmsOpened(id, contactId) {
      await event(id, { type: 'sms_composer_opened', contactIds: [contactId] });
    },
    async recordSmsAnswer(id, contactId, sent) {
      await event(id, { type: 'sms_user_reported', contactIds: [contactId], sent });
    },
    adopt(id, triggeredAt) {
      if (incidentId() === id || silent.has(id)) return;
      setIncidentId(id);
      scheduleLocation(id, triggeredAt);
      void watchForFallback(id);
    },
    dismiss() {
      setCancelled(false);
      setIncidentId(null);
      setFallback(false);
    },
  };
}
