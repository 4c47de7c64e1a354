/**
 * The SOS screen: the countdown, then the open incident. What it promises is only what was observed: "saved on
 * this phone" after the local commit, "received by the server" only after the server acknowledged the trigger,
 * "messaging app opened" when the user tapped the SMS link (a web page cannot see whether an SMS was sent, so it
 * asks). Nothing here needs the network.
 */
import { createEffect, createMemo, createSignal, on, onCleanup, Show } from 'solid-js';
import type { ContactRow, IncidentRow } from '@vitalwatch/schema/protocol/rows';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { SafetyNotice } from '../ui/safety-notice.tsx';
import { PinInput } from '../ui/form-parts.tsx';
import { formatDateTime } from '../ui/relative-time.ts';
import { buildAllClearSms, buildSosSms, isIos, smsUri } from '../sos/sos-sms.ts';
import { openIncidents } from './open-incidents.ts';
import { triggerAcknowledged } from '../ui/sos-flow.ts';
import { EvidencePanel } from './evidence-panel.tsx';
import { createLedgerRows, DeliveryLedger, NobodyAnsweredPrompt } from './delivery-ledger.tsx';

/** Tier-1 contacts who take SMS; if nobody is tier 1, the lowest tier there is. */
/**
 * A PIN field is shown when either PIN is set: with only a duress PIN the field must still be there, or the duress
 * PIN could never be entered (an empty or other PIN then cancels normally).
 */
function hasPin(p: { cancelPin: unknown; duressPin: unknown }): boolean {
  return p.cancelPin !== null || p.duressPin !== null;
}

export function smsRecipients(contacts: readonly ContactRow[]): ContactRow[] {
  const sms = contacts.filter((c) => c.notifyBySms);
  const top = Math.min(...sms.map((c) => c.tier));
  return sms.filter((c) => c.tier === top);
}

function Countdown() {
  const { sos, prefs } = useApp();
  const [pin, setPin] = createSignal('');
  const [wrongPin, setWrongPin] = createSignal(false);
  const needsPin = () => hasPin(prefs.prefs());

  const cancel = async (event: SubmitEvent) => {
    event.preventDefault();
    const ok = await sos.cancel(needsPin() ? pin() : undefined);
    setWrongPin(!ok);
    setPin('');
  };

  return (
    <Show when={sos.countdown()}>
      {(state) => (
        <section class="countdown" aria-labelledby="countdown-title">
          <h2 id="countdown-title">Sending SOS</h2>
          <p role="timer" aria-label="SOS countdown" aria-live="assertive" class="countdown-number">
            {state().remainingS}
          </p>
          <p>Your emergency contacts will be alerted when the countdown ends.</p>
          <form onSubmit={(event) => void cancel(event)}>
            <Show when={needsPin()}>
              <PinInput label="PIN to cancel" value={pin()} onInput={setPin} />
            </Show>
            <Show when={wrongPin()}>
              <p class="warning" role="alert">
                That PIN is not right. The countdown continues.
              </p>
            </Show>
            <button type="submit" class="cancel">
              Cancel SOS
            </button>
          </form>
          <button type="button" class="send-now" onClick={() => void sos.sendNow()}>
            Send now
          </button>
        </section>
      )}
    </Show>
  );
}

const AUTO_OPENED_KEY = 'vitalwatch.smsAutoOpened';

/** True the first time for an incident on this device. */
function claimAutoOpen(incidentId: string): boolean {
  try {
    if (localStorage.getItem(AUTO_OPENED_KEY) === incidentId) return false;
    localStorage.setItem(AUTO_OPENED_KEY, incidentId);
  } catch {
    // No storage: opening once more after a reload is better than not at all.
  }
  return true;
}

function SmsFallback(props: { incident: IncidentRow; recipients: ContactRow[]; automatic: boolean }) {
  const { sos, prefs } = useApp();
  const [opened, setOpened] = createSignal(false);
  const [answer, setAnswer] = createSignal<boolean | null>(null);
  const body = createMemo(() =>
    buildSosSms({
      code: props.incident.code,
      name: prefs.prefs().name,
      best:
        props.incident.latitude === null || props.incident.longitude === null
          ? null
          : {
              source:
                props.incident.locatedAt !== null &&
                props.incident.triggeredAt - props.incident.locatedAt > 60_000
                  ? 'last-known'
                  : 'fresh',
              fix: {
                lat: props.incident.latitude,
                lng: props.incident.longitude,
                accuracyM: props.incident.accuracyMeters ?? 0,
                at: props.incident.locatedAt ?? props.incident.triggeredAt,
              },
            },
      now: props.incident.triggeredAt,
    }),
  );
  const href = () =>
    smsUri(
      props.recipients.map((c) => c.phoneE164),
      body(),
      { ios: isIos(navigator.userAgent) },
    );
  const markOpened = () => {
    setOpened(true);
    void sos.recordSmsOpened(
      props.incident.id,
      props.recipients.map((c) => c.id),
    );
  };

  // Opened once automatically per incident (not again on every reload). Browsers may refuse to open another app
  // without a tap, so this is recorded only if the page was actually left (hidden) right after; the link stays on
  // screen either way.
  createEffect(
    on(
      // Also when the contacts arrive: they load from IndexedDB after the first render.
      [() => props.automatic, () => props.recipients.length] as const,
      ([automatic, recipients]) => {
        if (!automatic || recipients === 0 || !claimAutoOpen(props.incident.id)) return;
        const left = () => {
          if (document.visibilityState === 'hidden') markOpened();
        };
        document.addEventListener('visibilitychange', left, { once: true });
        setTimeout(() => document.removeEventListener('visibilitychange', left), 3_000);
        // A link click rather than a location change: the same path as the user's tap.
        const link = document.createElement('a');
        link.href = href();
        document.body.append(link);
        link.click();
        link.remove();
      },
    ),
  );

  const reply = (sent: boolean) => {
    setAnswer(sent);
    void sos.recordSmsAnswer(props.incident.id, sent);
  };

  return (
    <section class="sms-fallback" aria-labelledby="sms-title">
      <h3 id="sms-title">Alert your contacts by SMS</h3>
      <Show
        when={props.recipients.length > 0}
        fallback={<p class="warning">You have no emergency contacts who take SMS. Call for help instead.</p>}
      >
        <p>
          Your phone will open its messaging app with the message ready. <strong>You must press Send.</strong>
        </p>
        <a class="big-link" href={href()} onClick={markOpened}>
          Send SOS by SMS to {props.recipients.map((c) => c.name).join(', ')}
        </a>
        <p class="sms-body" data-testid="sms-body">
          {body()}
        </p>
        <Show when={opened() && answer() === null}>
          <div role="group" aria-label="Did the message send?">
            <p>Did the message send?</p>
            <button type="button" onClick={() => reply(true)}>
              Yes, it sent
            </button>
            <button type="button" onClick={() => reply(false)}>
              No
            </button>
          </div>
        </Show>
        <Show when={answer() === false}>
          <p class="warning">Try the link again, or call someone directly.</p>
        </Show>
        <Show when={answer() === true}>
          <p>Thank you. Contacts can reply "OK {props.incident.code}" to tell you they have seen it.</p>
        </Show>
      </Show>
    </section>
  );
}

function OpenIncident(props: { incident: IncidentRow }) {
  const { device, sos, prefs } = useApp();
  const contacts = createLiveQuery(() => device.db.emergency_contacts.toArray(), []);
  const recipients = createMemo(() => smsRecipients(contacts()));
  const received = createLiveQuery(() => triggerAcknowledged(device.db, props.incident.id), false);
  const logs = createLedgerRows(props.incident.id);
  const [pin, setPin] = createSignal('');
  const [wrongPin, setWrongPin] = createSignal(false);

  const safe = async (event: SubmitEvent) => {
    event.preventDefault();
    const ok = await sos.resolve(props.incident.id, hasPin(prefs.prefs()) ? pin() : undefined);
    setWrongPin(!ok);
    setPin('');
  };

  return (
    <section class="incident" aria-labelledby="incident-title">
      <h2 id="incident-title">SOS {props.incident.code} is open</h2>
      <NobodyAnsweredPrompt incident={props.incident} logs={logs()} />
      <ul class="progress" aria-label="Progress">
        <li>✓ Saved on this phone at {formatDateTime(props.incident.triggeredAt)}</li>
        <li>
          {props.incident.latitude === null
            ? 'Location: not known yet'
            : `Location: ${props.incident.latitude.toFixed(5)}, ${props.incident.longitude?.toFixed(5) ?? ''} (±${Math.round(props.incident.accuracyMeters ?? 0)} m)`}
        </li>
        <li data-testid="server-state">
          <DeliveryLedger
            logs={logs()}
            contacts={contacts()}
            heading="✓ Received by the server. Your contacts:"
            fallback={
              received()
                ? '✓ Received by the server'
                : 'Not yet received by the server: waiting for a connection'
            }
          />
        </li>
      </ul>
      <Show when={sos.fallback() || !received()}>
        <SmsFallback incident={props.incident} recipients={recipients()} automatic={sos.fallback()} />
      </Show>
      <p>
        <a class="big-link call" href={`tel:${prefs.prefs().emergencyNumber}`}>
          Call {prefs.prefs().emergencyNumber} (emergency number)
        </a>
      </p>
      <form onSubmit={(event) => void safe(event)}>
        <Show when={hasPin(prefs.prefs())}>
          <PinInput label="PIN" value={pin()} onInput={setPin} />
        </Show>
        <Show when={wrongPin()}>
          <p class="warning" role="alert">
            That PIN is not right.
          </p>
        </Show>
        <button type="submit" class="safe">
          I'm safe
        </button>
      </form>
      <EvidencePanel incidentId={props.incident.id} />
    </section>
  );
}

/** Ends what the SOS screen shows and returns to the home screen. */
function BackHome() {
  const { sos, navigate } = useApp();
  return (
    <button
      type="button"
      onClick={() => {
        sos.dismiss();
        navigate('home');
      }}
    >
      Back to home
    </button>
  );
}

function AllClear(props: { incident: IncidentRow }) {
  const { device, prefs } = useApp();
  const contacts = createLiveQuery(() => device.db.emergency_contacts.toArray(), []);
  const recipients = createMemo(() => smsRecipients(contacts()));
  const logs = createLedgerRows(props.incident.id);
  const [online, setOnline] = createSignal(navigator.onLine);
  const update = () => setOnline(navigator.onLine);
  window.addEventListener('online', update);
  window.addEventListener('offline', update);
  onCleanup(() => {
    window.removeEventListener('online', update);
    window.removeEventListener('offline', update);
  });
  const body = () =>
    buildAllClearSms({
      code: props.incident.code,
      name: prefs.prefs().name,
      now: props.incident.resolvedAt ?? Date.now(),
    });

  return (
    <section class="resolved" aria-labelledby="resolved-title">
      <h2 id="resolved-title">You marked yourself safe</h2>
      <DeliveryLedger logs={logs()} contacts={contacts()} heading="Your contacts:" />
      <Show when={!online() && recipients().length > 0}>
        <p>You are offline. Let your contacts know you are safe:</p>
        <a
          class="big-link"
          href={smsUri(
            recipients().map((c) => c.phoneE164),
            body(),
            { ios: isIos(navigator.userAgent) },
          )}
        >
          Send all-clear by SMS
        </a>
      </Show>
      <BackHome />
    </section>
  );
}

/** One incident, by id (keyed by the caller, so the live query is made for this id). */
function IncidentView(props: { id: string }) {
  const { device } = useApp();
  const row = createLiveQuery(() => device.db.emergency_incidents.get(props.id), undefined);
  return (
    <Show when={row()}>
      {(incident) => (
        <Show
          when={incident().status === 'active' || incident().status === 'acknowledged'}
          fallback={<AllClear incident={incident()} />}
        >
          <OpenIncident incident={incident()} />
        </Show>
      )}
    </Show>
  );
}

export function SosScreen() {
  const { device, sos } = useApp();
  const open = createLiveQuery(() => openIncidents(device.db), []);
  // An incident opened before a reload (or on the SOS shortcut) is taken over by the flow.
  createEffect(() => {
    const latest = open()[0];
    if (latest !== undefined && sos.incidentId() === null) sos.adopt(latest.id, latest.triggeredAt);
  });

  const shownId = () => sos.incidentId() ?? open()[0]?.id;
  return (
    <div class="sos-screen">
      <Countdown />
      <Show when={sos.countdown() === null}>
        <Show
          when={shownId()}
          keyed
          fallback={
            <Show when={sos.cancelled()}>
              <section>
                <h2>SOS cancelled</h2>
                <p>No one was alerted.</p>
                <BackHome />
              </section>
            </Show>
          }
        >
          {(id) => <IncidentView id={id} />}
        </Show>
      </Show>
      <SafetyNotice />
    </div>
  );
}
