import { render } from 'solid-js/web';
import { App } from './app.tsx';
import { openDevice } from './device/device.ts';
import { createPrefs, PREFS_KEY, sosSettings } from './device/prefs.ts';
import './app.css';

const root = document.getElementById('root');
if (root === null) {
  throw new Error('index.html must contain <div id="root">');
}
document.documentElement.dataset['build'] = __BUILD_ID__;
// Someone who lists this user as a contact needs help: on screen whatever is open (a lazy chunk).
const device = openDevice(
  (message) => void import('./screens/incoming-alert.tsx').then((m) => m.showIncomingAlert(message)),
);
const prefs = createPrefs(device);
// A PIN set before the server could check "SAFE <code> <PIN>" goes to the account once; off the first paint,
// and only on a device that has a PIN (the others, every first visit included, never fetch that code).
const { cancelPin, duressPin } = prefs.prefs();
if (cancelPin !== null || duressPin !== null) {
  void import('./device/pin-verifiers.ts').then((pins) => pins.queueStoredPins(device, prefs));
}
// Settings older builds kept on this phone alone move into the synced record once (SPEC SO43); only phones that
// have them (older builds always stored the name, if only '') fetch that code.
if (localStorage.getItem(PREFS_KEY)?.includes('"name"')) {
  const place = {
    storage: localStorage,
    key: PREFS_KEY,
    defaultEmergencyNumber: sosSettings(null, navigator.languages).emergencyNumber,
  };
  void import('./device/migrate-prefs.ts').then((m) =>
    m.migrateLegacyPrefs(place, (fields) => prefs.updateSettings(fields)),
  );
}
render(() => <App device={device} prefs={prefs} />, root);
