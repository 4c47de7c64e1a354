import { describe, expect, it } from 'vitest';
import type { IncidentStatus } from '@vitalwatch/schema/protocol/incident-status';
import { createSosFlow, type EventFields, type SosFlowDeps, type TriggerArgs } from './sos-flow.ts';
import { nextSosState, SOS_EVENTS, SOS_STATES } from './sos-machine.ts';
import { readSosSettings } from './sos-settings.ts';
import { defaultDevicePrefs, sosSettings, type Prefs } from '../device/prefs.ts';
import type { LocationFix } from './location-fix.ts';

const T0 = Date.UTC(2026, 11, 7, 18, 0);
const PREFS: Prefs = {
  ...defaultDevicePrefs(),
  ...sosSettings(null, ['en-GB']),
  name: 'Ama',
  onboarded: true,
};
const FIX: LocationFix = { lat: -1.28333, lng: 36.81667, accuracyM: 12, at: T0 - 1_000 };
const FRESH: LocationFix = { lat: -1.2834, lng: 36.8168, accuracyM: 8, at: T0 + 1_000 };

/** Timers on a clock the test moves: `advance(ms)` runs every callback due, in order. */
function fakeTimers() {
  let now = T0;
  let nextHandle = 1;
  const due = new Map<number, { at: number; run: () => void }>();
  return {
    now: () => now,
    setTimeout(run: () => void, ms: number) {
      const handle = nextHandle++;
      due.set(handle, { at: now + ms, run });
      return handle;
    },
    clearTimeout(handle: unknown) {
      due.delete(handle as number);
    },
    async advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const next = [...due.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (next === undefined || next[1].at > until) break;
        due.delete(next[0]);
        now = next[1].at;
        next[1].run();
        // Let the promise chains a callback started settle before the next one.
        for (let i = 0; i < 10; i++) await Promise.resolve();
      }
      now = until;
    },
  };
}

function setUp(options: { prefs?: Partial<Prefs>; online?: boolean; signedIn?: boolean } = {}) {
  const timers = fakeTimers();
  const triggers: TriggerArgs[] = [];
  const events: Array<{ incidentId: string; at: number; fields: EventFields }> = [];
  const statuses = new Map<string, IncidentStatus>();
  let alarms = 0;
  let alarmsStopped = 0;
  let syncs = 0;
  let ids = 0;
  let online = options.online ?? true;
  const listeners = new Set<() => void>();
  let resolveFresh: (fix: LocationFix | null) => void = () => undefined;
  const prefs = { ...PREFS, ...options.prefs };
  const deps: SosFlowDeps = {
    timers,
    geolocation: {
      track: (lastKnown) => {
        let fresh: LocationFix | null = null;
        const promise = new Promise<LocationFix | null>((resolve) => {
          resolveFresh = (fix) => {
            fresh = fix;
            resolve(fix);
          };
        });
        return {
          best: () =>
            fresh !== null
              ? { fix: fresh, source: 'fresh' }
              : lastKnown === null
                ? null
                : { fix: lastKnown, source: 'last-known' },
          fresh: promise,
        };
      },
      current: () => Promise.resolve(FRESH),
    },
    connectivity: {
      online: () => online,
      signedIn: () => Promise.resolve(options.signedIn ?? true),
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    store: {
      trigger: (args) => {
        triggers.push(args);
        statuses.set(args.id, 'active');
        return Promise.resolve();
      },
      event: (incidentId, at, fields) => {
        events.push({ incidentId, at, fields });
        if (fields.type === 'resolved') statuses.set(incidentId, 'resolved');
        if (fields.type === 'cancelled') statuses.set(incidentId, 'cancelled');
        return Promise.resolve();
      },
      status: (id) => Promise.resolve(statuses.get(id)),
      syncNow: () => {
        syncs += 1;
      },
    },
    settings: () => readSosSettings(prefs),
    remember: () => undefined,
    startAlarm: () => {
      alarms += 1;
      return () => {
        alarmsStopped += 1;
      };
    },
    // A "hash" that is the PIN itself: the flow only asks whether they match.
    verifyPin: (pin, stored) => Promise.resolve(stored.hash === pin),
    newId: () => `incident-${++ids}`,
    newCode: () => 'A7F3',
    utcOffsetMinutes: () => 180,
  };
  const flow = createSosFlow(deps);
  return {
    flow,
    timers,
    triggers,
    events,
    statuses,
    alarms: () => ({ started: alarms, stopped: alarmsStopped }),
    syncs: () => syncs,
    fresh: (fix: LocationFix | null) => resolveFresh(fix),
    goOffline() {
      online = false;
      for (const listener of listeners) listener();
    },
  };
}

const pin = (value: string) => ({ salt: 's', hash: value, iterations: 1 });
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('the transition table', () => {
  it('[SO7] decides every state × event pair, and only the listed events leave a state', () => {
    for (const state of SOS_STATES) {
      for (const event of SOS_EVENTS) {
        const next = nextSosState(state, event);
        expect(next === null || SOS_STATES.includes(next)).toBe(true);
      }
    }
    // Once committing, nothing but the commit's own result moves the flow: a cancel is too late.
    const fromCommitting = SOS_EVENTS.filter((e) => nextSosState('committing', e) !== null);
    expect(fromCommitting).toEqual(['committed', 'committed_duress']);
    // An open incident is never replaced by a second press.
    expect(nextSosState('open', 'press')).toBeNull();
  });
});

describe('the flow on an injected clock', () => {
  it('[SO7] the countdown ticks on the clock, sounds the alarm, and commits at zero with the best fix so far', async () => {
    const t = setUp({ prefs: { lastFix: FIX } });
    t.flow.start();
    expect(t.flow.state()).toBe('countdown');
    expect(t.flow.countdown()).toMatchObject({ remainingS: 5, totalS: 5 });
    expect(t.alarms()).toEqual({ started: 1, stopped: 0 });
    await t.timers.advance(2_050);
    expect(t.flow.countdown()?.remainingS).toBe(3);
    // A second press during the countdown changes nothing.
    t.flow.start();
    expect(t.alarms().started).toBe(1);
    await t.timers.advance(3_000);
    await settle();
    expect(t.flow.state()).toBe('open');
    expect(t.alarms()).toEqual({ started: 1, stopped: 1 });
    expect(t.triggers).toHaveLength(1);
    expect(t.triggers[0]).toMatchObject({
      id: 'incident-1',
      triggeredAt: T0 + 5_000,
      utcOffsetMinutes: 180,
      location: { lat: FIX.lat, lng: FIX.lng },
    });
    expect(t.flow.incidentId()).toBe('incident-1');
    expect(t.syncs()).toBe(1);
    // The fresh fix arriving after the commit is recorded as a location event.
    t.fresh(FRESH);
    await settle();
    expect(t.events.map((e) => [e.fields.type, e.at])).toEqual([['location', T0 + 5_050]]);
  });

  it('[SO7] while open, the position is recorded every 60 s; after "I\'m safe" it stops', async () => {
    const t = setUp({ prefs: { countdownSeconds: 0 } });
    t.flow.start();
    await settle();
    expect(t.flow.state()).toBe('open');
    t.fresh(null);
    await t.timers.advance(60_000);
    await t.timers.advance(60_000);
    expect(t.events.filter((e) => e.fields.type === 'location').map((e) => e.at)).toEqual([
      T0 + 60_000,
      T0 + 120_000,
    ]);
    expect(await t.flow.resolve('incident-1')).toBe(true);
    expect(t.flow.state()).toBe('closed');
    await t.timers.advance(600_000);
    expect(t.events.filter((e) => e.fields.type === 'location')).toHaveLength(2);
    expect(t.events.at(-1)?.fields).toEqual({ type: 'resolved' });
  });

  it('[SO7] a cancel ends the countdown and commits nothing; with a cancel PIN a wrong one is refused', async () => {
    const t = setUp({ prefs: { cancelPin: pin('1234') } });
    t.flow.start();
    expect(await t.flow.cancel('9999')).toBe(false);
    expect(t.flow.state()).toBe('countdown');
    expect(await t.flow.cancel('1234')).toBe(true);
    expect(t.flow.state()).toBe('cancelled');
    expect(t.flow.cancelled()).toBe(true);
    expect(t.alarms()).toEqual({ started: 1, stopped: 1 });
    await t.timers.advance(10_000);
    expect(t.triggers).toEqual([]);
  });

  it('[SO7] the duress PIN commits the incident, records a duress cancel, and looks exactly like a cancel', async () => {
    const t = setUp({ prefs: { cancelPin: pin('1234'), duressPin: pin('4321') } });
    t.flow.start();
    expect(await t.flow.cancel('4321')).toBe(true);
    await settle();
    expect(t.flow.state()).toBe('cancelled');
    expect(t.flow.incidentId()).toBeNull();
    expect(t.triggers).toHaveLength(1);
    expect(t.events.map((e) => e.fields)).toEqual([{ type: 'cancelled', duress: true }]);
    // Not taken over later either (a reload's adopt, or another tab's live query).
    t.flow.adopt('incident-1', T0);
    expect(t.flow.incidentId()).toBeNull();
  });

  it('[SO7] the link says offline, signed out or online, and follows connectivity changes', async () => {
    const signedOut = setUp({ signedIn: false, prefs: { countdownSeconds: 0 } });
    signedOut.flow.start();
    await settle();
    expect(signedOut.flow.link()).toBe('signed_out');

    const t = setUp({ prefs: { countdownSeconds: 0 } });
    t.flow.start();
    await settle();
    expect(t.flow.link()).toBe('online');
    t.goOffline();
    await settle();
    expect(t.flow.link()).toBe('offline');
  });

  it('[SO7] an incident open before a reload is adopted: location updates resume on the same schedule', async () => {
    const t = setUp();
    t.statuses.set('earlier', 'acknowledged');
    t.flow.adopt('earlier', T0 - 30_000);
    expect(t.flow.state()).toBe('open');
    expect(t.flow.incidentId()).toBe('earlier');
    expect(t.syncs()).toBe(1);
    await t.timers.advance(60_000);
    expect(t.events.map((e) => [e.incidentId, e.fields.type, e.at])).toEqual([
      ['earlier', 'location', T0 + 60_000],
    ]);
  });
});

describe('settings', () => {
  it('[SO13] read in one place: the synced settings (escalation times included) and the device prefs', () => {
    expect(readSosSettings(PREFS)).toMatchObject({
      countdownSeconds: 5,
      emergencyNumber: '999',
      silent: false,
      escalation: { tier2AfterMs: 120_000, allAfterMs: 300_000 },
    });
    const synced = { escalateTier2AfterSeconds: 60, escalateAllAfterSeconds: 180 };
    expect(readSosSettings({ ...PREFS, silentSos: true, ...synced })).toMatchObject({
      silent: true,
      escalation: { tier2AfterMs: 60_000, allAfterMs: 180_000 },
    });
  });
});

describe('silent SOS', () => {
  it('[SO14] with the setting on, the countdown starts no alarm (no sound, no vibration) and says it is silent', () => {
    const t = setUp({ prefs: { silentSos: true } });
    t.flow.start();
    expect(t.flow.state()).toBe('countdown');
    expect(t.flow.silent()).toBe(true);
    expect(t.alarms().started).toBe(0);
  });

  it('[SO14] the long press makes one SOS silent whatever the setting; the next press is loud again', async () => {
    const t = setUp();
    t.flow.start({ silent: true });
    expect(t.flow.silent()).toBe(true);
    expect(t.alarms().started).toBe(0);
    await t.flow.cancel();
    t.flow.dismiss();
    t.flow.start();
    expect(t.flow.silent()).toBe(false);
    expect(t.alarms().started).toBe(1);
  });
});
