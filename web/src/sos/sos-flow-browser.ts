/**
 * The SOS flow wired to the page: the real clock and timers, the Geolocation API, `navigator.onLine` and the
 * session, the Web Audio alarm, and the device's mutators. The only place the flow touches the browser.
 */
import { newId } from '@vitalwatch/schema/ids';
import { deviceUtcOffsetMinutes } from '@vitalwatch/schema/sms/sms-time';
import type { Device } from '../device/device.ts';
import type { PrefsStore } from '../device/prefs.ts';
import { startAlarm } from '../device/alarm.ts';
import { currentFix, trackBestFix } from '../device/geolocation.ts';
import { verifyPin } from '../device/pin.ts';
import { readSession } from '../sync/auth-session.ts';
import { newIncidentCode } from '@vitalwatch/schema/incident-code';
import { createSosFlow, type SosFlow } from './sos-flow.ts';
import { readSosSettings, type SosSettings } from './sos-settings.ts';

export function createBrowserSosFlow(device: Device, prefsStore: PrefsStore): SosFlow {
  const settings = (): SosSettings => readSosSettings(prefsStore.prefs());
  return createSosFlow({
    timers: {
      now: () => Date.now(),
      setTimeout: (callback, ms) => window.setTimeout(callback, ms),
      clearTimeout: (handle) => window.clearTimeout(handle as number | undefined),
    },
    geolocation: { track: trackBestFix, current: () => currentFix() },
    connectivity: {
      online: () => navigator.onLine,
      signedIn: async () => (await readSession(device.db)) !== null,
      subscribe(listener) {
        window.addEventListener('online', listener);
        window.addEventListener('offline', listener);
        return () => {
          window.removeEventListener('online', listener);
          window.removeEventListener('offline', listener);
        };
      },
    },
    store: {
      async trigger(args) {
        await device.mutators.triggerIncident(args);
      },
      async event(incidentId, at, fields) {
        await device.mutators.recordIncidentEvent({ id: newId(), incidentId, at, ...fields });
      },
      status: async (id) => (await device.db.emergency_incidents.get(id))?.status,
      syncNow: () => void device.loop.syncNow(),
    },
    settings,
    remember: (fix) => prefsStore.update({ lastFix: fix }),
    startAlarm,
    verifyPin,
    newId: () => newId<string>(),
    newCode: newIncidentCode,
    utcOffsetMinutes: deviceUtcOffsetMinutes,
    measureCommit() {
      // Budget: ≤ 50 ms from the end of the countdown to the committed incident (pnpm bench:web reads this).
      const started = performance.now();
      return () => performance.measure('vw-sos-local-commit', { start: started });
    },
  });
}
