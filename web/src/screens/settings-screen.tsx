/**
 * Device settings: name used in SOS texts, countdown, emergency number, silent SOS, cancel and duress PINs,
 * storage.
 */
import { createResource, createSignal, Show } from 'solid-js';
import { EMERGENCY_NUMBER_PATTERN } from '@vitalwatch/schema/phone-patterns';
import { useApp } from '../ui/app-context.ts';
import { FormMessage, PinInput, type FormResult } from '../ui/form-parts.tsx';
import { hashPin, PIN_PATTERN } from '../device/pin.ts';
import { queuePinChange } from '../device/pin-verifiers.ts';
import { readSession } from '../sync/auth-session.ts';
import { storageReport } from './storage-report.ts';
import { AlertSubscriptionSection } from './alert-subscription-section.tsx';
import { EvidenceSettingsSection } from './evidence-settings-section.tsx';

export default function SettingsScreen() {
  const { prefs, device } = useApp();
  const p = () => prefs.prefs();
  const [name, setName] = createSignal(p().name);
  const [countdown, setCountdown] = createSignal(p().countdownSeconds);
  const [number, setNumber] = createSignal(p().emergencyNumber);
  const [cancelPin, setCancelPin] = createSignal('');
  const [duressPin, setDuressPin] = createSignal('');
  const [message, setMessage] = createSignal<FormResult | null>(null);
  const [storage] = createResource(() => storageReport(false));

  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!new RegExp(EMERGENCY_NUMBER_PATTERN).test(number())) {
      setMessage({ ok: false, text: 'The emergency number may hold only digits, +, * and #.' });
      return;
    }
    for (const pin of [cancelPin(), duressPin()]) {
      if (pin !== '' && !PIN_PATTERN.test(pin)) {
        setMessage({ ok: false, text: 'A PIN is 4 to 8 digits.' });
        return;
      }
    }
    if (cancelPin() !== '' && cancelPin() === duressPin()) {
      setMessage({ ok: false, text: 'The duress PIN must differ from the cancel PIN.' });
      return;
    }
    const pins = {
      ...(cancelPin() === '' ? {} : { cancelPin: await hashPin(cancelPin()) }),
      ...(duressPin() === '' ? {} : { duressPin: await hashPin(duressPin()) }),
    };
    prefs.update({
      name: name().trim(),
      countdownSeconds: countdown(),
      emergencyNumber: number(),
      ...pins,
    });
    // The account gets the hashes too, so a contact can end the SOS by SMS with the PIN (queued until signed in).
    if (Object.keys(pins).length > 0) await queuePinChange(device, prefs, pins);
    // The countdown is also part of the account's settings row once signed in (synced through its mutator).
    if ((await readSession(device.db)) !== null) {
      await device.mutators.updateSettings({ fields: { sosCountdownSeconds: countdown() } });
    }
    setCancelPin('');
    setDuressPin('');
    setMessage({ ok: true, text: 'Settings saved.' });
  };

  const removePins = async () => {
    prefs.update({ cancelPin: null, duressPin: null });
    await queuePinChange(device, prefs, { cancelPin: null, duressPin: null });
  };

  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <form onSubmit={(event) => void save(event)} novalidate>
        <label>
          Your name (used in SOS messages)
          <input value={name()} maxLength={60} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          SOS countdown: {countdown()} seconds
          <input
            type="range"
            min="0"
            max="10"
            step="1"
            value={countdown()}
            onInput={(e) => setCountdown(Number(e.currentTarget.value))}
          />
        </label>
        <label>
          Local emergency number
          <input inputmode="tel" value={number()} onInput={(e) => setNumber(e.currentTarget.value)} />
        </label>
        <p class="hint">Check this number is right for where you are. The SOS screen offers to call it.</p>
        <label>
          <input
            type="checkbox"
            checked={p().silentSos}
            onChange={(e) => prefs.update({ silentSos: e.currentTarget.checked })}
          />{' '}
          Silent SOS: no alarm sound, no vibration, a dim screen (saved at once)
        </label>
        <p class="hint">
          For when noise would put you in danger. Holding the SOS button also starts a silent SOS.
        </p>
        <PinInput
          label={`${p().cancelPin === null ? 'Set a PIN to cancel an SOS' : 'Change the cancel PIN'} (optional, 4–8 digits)`}
          value={cancelPin()}
          onInput={setCancelPin}
          autocomplete="new-password"
        />
        <PinInput
          label={`${p().duressPin === null ? 'Set a duress PIN' : 'Change the duress PIN'} (optional): it looks like a normal cancel on screen, but still alerts your contacts`}
          value={duressPin()}
          onInput={setDuressPin}
          autocomplete="new-password"
        />
        <Show when={p().cancelPin !== null || p().duressPin !== null}>
          <button type="button" onClick={() => void removePins()}>
            Remove PINs
          </button>
        </Show>
        <button type="submit">Save settings</button>
        <FormMessage message={message} />
      </form>
      <AlertSubscriptionSection />
      <EvidenceSettingsSection />
      <h3>Storage</h3>
      <Show when={storage()}>{(r) => <p>{r().text}</p>}</Show>
    </section>
  );
}
