/**
 * Settings. "Your SOS" (name, countdown, emergency number, region) is the synced settings record: saved through
 * `settings.update@1`, field by field, so it reaches the user's other devices (SPEC SO40). "What this server can
 * do" says only what its `/config.json` says (SO42). The cancel and duress PINs are checked on this phone; the
 * account gets verifiers of them (ADR 0011). Silent SOS (SO14) is part of the synced record, saved at once. Then "Test my SOS", alerts on this device, evidence, storage. Below the
 * emergency number, the crisis line of the saved region (in this lazy chunk, SPEC WB7).
 */
import { createResource, createSignal, For, Show } from 'solid-js';
import { EMERGENCY_NUMBER_PATTERN } from '@vitalwatch/schema/phone-patterns';
import { useApp } from '../ui/app-context.ts';
import { FormMessage, PinInput, type FormResult } from '../ui/form-parts.tsx';
import { fetchServerChannels, type ServerChannels } from '../ui/server-channels.ts';
import { hashPin, PIN_PATTERN } from '../device/pin.ts';
import { queuePinChange } from '../device/pin-verifiers.ts';
import type { SettingsFields } from '../device/prefs.ts';
import { emergencyNumberForRegion } from '../sos/emergency-number.ts';
import { localeRegion } from '../sos/locale-region.ts';
import { storageReport } from './storage-report.ts';
import { regionChoices } from './region-choice.ts';
import { SosTestSection } from './sos-test-section.tsx';
import { AlertSubscriptionSection } from './alert-subscription-section.tsx';
import { EvidenceSettingsSection } from './evidence-settings-section.tsx';
// In this lazy chunk, not one of its own: a further dynamic chunk made the bundler move zod out of the entry into
// a chunk of its own, +1 KB on the first visit (SPEC WB7, ADR 0029).
import { CrisisLineCard } from '../wellbeing/crisis-line-card.tsx';

export default function SettingsScreen() {
  const { prefs, device } = useApp();
  const p = () => prefs.prefs();
  const settings = () => prefs.settings();
  const [name, setName] = createSignal(settings().name);
  const [countdown, setCountdown] = createSignal(settings().countdownSeconds);
  const [number, setNumber] = createSignal(settings().emergencyNumber);
  // '' = not chosen: the phone's language decides, and the number follows it.
  const [region, setRegion] = createSignal(settings().regionIsDefault ? '' : (settings().region ?? ''));
  const defaultNumberFor = (r: string) => emergencyNumberForRegion(r || localeRegion(navigator.languages));
  const [channels] = createResource(() => fetchServerChannels());
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
    // Only what changed, so an edit made meanwhile on another device keeps its other fields (field-level LWW).
    const before = settings();
    const changed: SettingsFields = {
      ...(name().trim() !== before.name && { name: name().trim() }),
      ...(countdown() !== before.countdownSeconds && { sosCountdownSeconds: countdown() }),
      ...((region() || null) !== (before.regionIsDefault ? null : before.region) && {
        region: region() || null,
      }),
      ...(number() !== before.emergencyNumber && {
        // The region's own number is kept as "the default", so it follows a later change of region.
        emergencyNumber: number() === emergencyNumberForRegion(region() || null) ? null : number(),
      }),
    };
    if (Object.keys(changed).length > 0) await prefs.updateSettings(changed);
    if (Object.keys(pins).length > 0) prefs.update(pins);
    // The account gets the hashes too, so a contact can end the SOS by SMS with the PIN (queued until signed in).
    if (Object.keys(pins).length > 0) await queuePinChange(device, prefs, pins);
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
      {/* ── Your SOS: the synced settings record (issue #14 item 7, SPEC SO40) ── */}
      <form onSubmit={(event) => void save(event)} novalidate>
        <h3>Your SOS (on all your devices)</h3>
        <label>
          Your name (every alert says it)
          <input name="name" value={name()} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
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
          Your region (reads phone numbers, picks the emergency number)
          <select
            name="region"
            value={region()}
            onChange={(e) => {
              const next = e.currentTarget.value;
              // A number the user never changed follows the region.
              if (number() === defaultNumberFor(region())) setNumber(defaultNumberFor(next));
              setRegion(next);
            }}
          >
            <option value="">Not set (from this phone's language)</option>
            <For each={regionChoices()}>{(r) => <option value={r.code}>{r.name}</option>}</For>
          </select>
        </label>
        <label>
          Local emergency number
          <input
            name="emergency-number"
            inputmode="tel"
            value={number()}
            onInput={(e) => setNumber(e.currentTarget.value)}
          />
        </label>
        <p class="hint">Check this number is right for where you are. The SOS screen offers to call it.</p>
        {/* ── The saved region's crisis line beside the saved emergency number (issue #16 item 5, SPEC WB7) ── */}
        <CrisisLineCard region={settings().region} emergencyNumber={settings().emergencyNumber} />
        <label>
          <input
            type="checkbox"
            checked={prefs.settings().silentSos}
            onChange={(e) => void prefs.updateSettings({ silentSos: e.currentTarget.checked })}
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
      {/* ── What this server can do (SPEC SO42) ── */}
      <ServerChannelsSection channels={channels()} />
      <SosTestSection />
      <AlertSubscriptionSection />
      <EvidenceSettingsSection />
      <h3>Storage</h3>
      <Show when={storage()}>{(r) => <p>{r().text}</p>}</Show>
    </section>
  );
}

/** Only what this server's `/config.json` says it can do; nothing while it has never said. */
function ServerChannelsSection(props: { channels: ServerChannels | null | undefined }) {
  return (
    <section aria-labelledby="channels-title" data-testid="server-channels">
      <h3 id="channels-title">How an SOS reaches your contacts</h3>
      <Show
        when={props.channels}
        fallback={
          <p>
            Your phone opens a text to each contact for you to send. Whether the server can also text them is
            not known yet (it has not been reached).
          </p>
        }
      >
        {(c) => (
          <ul>
            <li>
              {c().sms
                ? 'The server texts your contacts when you press SOS. A text is best effort: if no delivery is confirmed, your phone offers to text them itself.'
                : 'This server cannot send texts. When you press SOS, your phone opens a text to each contact for you to send.'}
            </li>
            <Show when={c().webPush || c().realtime}>
              <li>Contacts who use VitalWatch also get the alert in the app.</li>
            </Show>
            <li>None of this replaces calling the emergency number.</li>
          </ul>
        )}
      </Show>
    </section>
  );
}
