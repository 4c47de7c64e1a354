/**
 * Settings section: Web Push alerts on this device for people who list this user as an emergency contact. Shown
 * only when signed in (alerts go to an account). On opening, an existing subscription is re-sent, so the server
 * maps this browser to the account signed in now (device/push-subscription.ts).
 */
import { createResource, createSignal, Match, onMount, Show, Switch } from 'solid-js';
import { useApp } from '../ui/app-context.ts';
import { FormMessage, type FormResult } from '../ui/form-parts.tsx';
import { createLiveQuery } from '../ui/live-query.ts';
import { createSessionTokens, readSession } from '../sync/auth-session.ts';
import { fetchServerChannels } from '../ui/server-channels.ts';
import {
  alertSubscriptionState,
  refreshAlertSubscription,
  subscribeToAlerts,
  unsubscribeFromAlerts,
  type AlertSubscriptionState,
} from '../device/push-subscription.ts';

export function AlertSubscriptionSection() {
  const { device } = useApp();
  const session = createLiveQuery(() => readSession(device.db), null);
  const tokens = createSessionTokens({ db: device.db, now: () => Date.now() });
  const [state, setState] = createSignal<AlertSubscriptionState | null>(null);
  const [busy, setBusy] = createSignal(false);
  const [message, setMessage] = createSignal<FormResult | null>(null);
  const origin = window.location.origin;
  const [channels] = createResource(() => fetchServerChannels());

  const refreshState = async () => setState(await alertSubscriptionState());

  const start = async () => {
    await refreshState();
    const token = await tokens.getAccessToken();
    if (state() === 'subscribed' && token !== null) await refreshAlertSubscription(origin, token);
  };
  onMount(() => void start());

  const turnOn = async () => {
    setBusy(true);
    setMessage(null);
    try {
      const token = await tokens.getAccessToken();
      if (token === null) {
        setMessage({ ok: false, text: 'Sign in again to turn on alerts.' });
        return;
      }
      const outcome = await subscribeToAlerts(origin, token);
      setMessage(
        outcome.ok
          ? { ok: true, text: 'Alerts are on for this device.' }
          : { ok: false, text: outcome.message },
      );
    } finally {
      await refreshState();
      setBusy(false);
    }
  };

  const turnOff = async () => {
    setBusy(true);
    setMessage(null);
    try {
      await unsubscribeFromAlerts(origin, await tokens.getAccessToken());
      setMessage({ ok: true, text: 'Alerts are off for this device.' });
    } finally {
      await refreshState();
      setBusy(false);
    }
  };

  return (
    <Show when={session()}>
      <section aria-labelledby="contact-alerts-title">
        <h3 id="contact-alerts-title">Alerts for people who list you as a contact</h3>
        <p>Get a notification on this device when they need help.</p>
        <Switch>
          <Match when={state() === 'unsupported'}>
            <p>
              This browser cannot show alerts from VitalWatch. On an iPhone, add VitalWatch to the Home Screen
              and open it from there.
            </p>
          </Match>
          <Match when={state() === 'denied'}>
            <p>Notifications are blocked for VitalWatch. Allow them in the browser's site settings.</p>
          </Match>
          <Match when={state() === 'subscribed'}>
            <p>Alerts: on for this device.</p>
            <button type="button" disabled={busy()} onClick={() => void turnOff()}>
              Turn off alerts on this device
            </button>
          </Match>
          <Match when={state() === 'not_subscribed'}>
            <p>Alerts: off for this device.</p>
            <button type="button" disabled={busy()} onClick={() => void turnOn()}>
              Turn on alerts on this device
            </button>
          </Match>
        </Switch>
        <FormMessage message={message} />
        <p class="hint">
          Phones may delay or hold back notifications in power-saving mode.{' '}
          {/* Only a server with an SMS provider texts contacts (its /config.json, SPEC SO42). */}
          {channels()?.sms === true
            ? 'This server also texts you when they need help.'
            : 'This server cannot send texts: their phone may text you itself, so keep your number in their contacts up to date.'}
        </p>
      </section>
    </Show>
  );
}
