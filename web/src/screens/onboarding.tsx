/**
 * First launch, set up so that an SOS works (issue #14, SPEC SO47): the user's name (every alert carries it; it
 * goes to the synced settings and so to the server's profile), the region (from the phone's settings; it decides
 * how phone numbers are read and the default emergency number), at least one contact, then "Test my SOS". Each
 * step works offline and signed out; the settings sync when the user signs in. Also asks the browser to keep our
 * storage and, on iOS, explains Add to Home Screen (Safari deletes a site's data after 7 days without a visit).
 * A lazy chunk: the first-visit bundle only has the home screen's `import()` of it.
 */
import { createResource, createSignal, For, Match, Show, Switch } from 'solid-js';
import { newId } from '@vitalwatch/schema/ids';
import { MAX_NAME_LENGTH } from '@vitalwatch/schema/settings-patterns';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { isIos } from '../sos/sos-sms.ts';
import { emergencyNumberForRegion } from '../sos/emergency-number.ts';
import { readSession } from '../sync/auth-session.ts';
import { storageReport } from './storage-report.ts';
import { devicePhoneRegion } from './phone-region.ts';
import { parsePhoneInput } from './phone-number.ts';
import { regionChoices, regionName } from './region-choice.ts';
import { SosTestSection } from './sos-test-section.tsx';

type Step = 'name' | 'region' | 'contact' | 'test';

export default function Onboarding() {
  const { prefs, device } = useApp();
  const settings = () => prefs.settings();
  const [report] = createResource(() => storageReport(true));
  const standalone = window.matchMedia('(display-mode: standalone)').matches;
  const contactCount = createLiveQuery(() => device.db.emergency_contacts.count(), 0);
  const signedIn = createLiveQuery(async () => (await readSession(device.db)) !== null, false);

  const [step, setStep] = createSignal<Step>('name');
  const [name, setName] = createSignal(settings().name);
  const [nameError, setNameError] = createSignal<string | null>(null);
  // The phone's own region (time zone, then language) unless the user already confirmed one.
  const [region, setRegion] = createSignal(
    (settings().regionIsDefault ? devicePhoneRegion() : settings().region) ?? settings().region ?? '',
  );
  const [contactName, setContactName] = createSignal('');
  const [contactPhone, setContactPhone] = createSignal('');
  const [contactErrors, setContactErrors] = createSignal<{ name?: string; phone?: string }>({});

  const saveName = async (event: SubmitEvent) => {
    event.preventDefault();
    const trimmed = name().trim();
    if (trimmed === '') {
      setNameError('Type the name your contacts know you by.');
      return;
    }
    setNameError(null);
    await prefs.updateSettings({ name: trimmed });
    setStep('region');
  };

  const saveRegion = async (event: SubmitEvent) => {
    event.preventDefault();
    if (region() === '') return;
    await prefs.updateSettings({ region: region() });
    setStep(contactCount() > 0 ? 'test' : 'contact');
  };

  const saveContact = async (event: SubmitEvent) => {
    event.preventDefault();
    const phone = parsePhoneInput(contactPhone(), settings().region);
    const who = contactName().trim();
    setContactErrors({
      ...(who === '' && { name: 'Type their name.' }),
      ...('error' in phone && { phone: phone.error }),
    });
    if (who === '' || 'error' in phone) return;
    await device.mutators.upsertContact({
      id: newId(),
      fields: { name: who, tier: 1 },
      phoneE164: phone.e164,
      expectedPhoneE164: null,
    });
    setStep('test');
  };

  return (
    <section class="onboarding" aria-labelledby="onboarding-title">
      <h2 id="onboarding-title">Set up your SOS</h2>
      <Switch>
        <Match when={step() === 'name'}>
          <form onSubmit={(e) => void saveName(e)} novalidate>
            <p>Everything works on this phone without an account or a connection.</p>
            <label>
              Your name (every alert says it, so your contacts know who needs help)
              <input
                name="name"
                value={name()}
                maxLength={MAX_NAME_LENGTH}
                autocomplete="name"
                aria-describedby="onboarding-name-error"
                onInput={(e) => setName(e.currentTarget.value)}
              />
            </label>
            <Show when={nameError()}>
              {(message) => (
                <p id="onboarding-name-error" class="warning field-error" role="alert">
                  {message()}
                </p>
              )}
            </Show>
            <button type="submit">Next</button>
          </form>
        </Match>
        <Match when={step() === 'region'}>
          <form onSubmit={(e) => void saveRegion(e)} novalidate>
            <label>
              Where are you? (from your phone's settings; it decides how phone numbers are read and which
              emergency number to call)
              <select value={region()} onChange={(e) => setRegion(e.currentTarget.value)}>
                <Show when={region() === ''}>
                  <option value="">Choose your country</option>
                </Show>
                <For each={regionChoices()}>{(r) => <option value={r.code}>{r.name}</option>}</For>
              </select>
            </label>
            <Show when={region() !== ''}>
              <p data-testid="onboarding-emergency-number">
                Emergency number in {regionName(region())}:{' '}
                <strong>
                  {settings().emergencyNumberIsDefault
                    ? emergencyNumberForRegion(region())
                    : settings().emergencyNumber}
                </strong>
                . Check it is right; you can change it in Settings.
              </p>
            </Show>
            <button type="submit" disabled={region() === ''}>
              This is right
            </button>
          </form>
        </Match>
        <Match when={step() === 'contact'}>
          <form onSubmit={(e) => void saveContact(e)} novalidate>
            <p>Who should an SOS reach first? Add at least one person.</p>
            <label>
              Their name
              <input
                name="contact-name"
                value={contactName()}
                maxLength={200}
                onInput={(e) => setContactName(e.currentTarget.value)}
              />
            </label>
            <Show when={contactErrors().name}>
              {(m) => (
                <p class="warning field-error" role="alert">
                  {m()}
                </p>
              )}
            </Show>
            <label>
              Their mobile number
              <input
                name="contact-phone"
                type="tel"
                inputmode="tel"
                autocomplete="off"
                value={contactPhone()}
                onInput={(e) => setContactPhone(e.currentTarget.value)}
              />
            </label>
            <Show when={contactErrors().phone}>
              {(m) => (
                <p class="warning field-error" role="alert">
                  {m()}
                </p>
              )}
            </Show>
            <button type="submit">Add contact</button>
          </form>
        </Match>
        <Match when={step() === 'test'}>
          <SosTestSection />
          <p>
            Add more people under <a href="#/contacts">Contacts</a>.
            <Show when={!signedIn()}>
              {' '}
              Sign in under <a href="#/account">Account and sync</a> to keep your set-up on all your devices.
            </Show>
          </p>
          <button type="button" onClick={() => prefs.update({ onboarded: true })}>
            Done
          </button>
        </Match>
      </Switch>
      <Show when={report()}>{(r) => <p data-testid="storage-report">{r().text}</p>}</Show>
      <Show when={isIos(navigator.userAgent) && !standalone}>
        <p class="warning">
          On iPhone and iPad, tap Share, then <strong>Add to Home Screen</strong>. Safari deletes a website's
          data after 7 days without a visit; the home-screen app keeps it.
        </p>
      </Show>
      <Show when={step() !== 'test'}>
        <button type="button" class="link-button" onClick={() => prefs.update({ onboarded: true })}>
          Skip for now
        </button>
      </Show>
    </section>
  );
}
