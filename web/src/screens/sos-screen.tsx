/**
 * The SOS screen: the countdown, then the open incident. What it promises is only what was observed: "saved on
 * this phone" after the local commit, "received by the server" only after the server acknowledged the trigger,
 * "messaging app opened" when the user tapped the SMS link (a web page cannot see whether an SMS was sent, so it
 * asks). Nothing here needs the network.
 */
import { createEffect, createMemo, createSignal, For, on, onCleanup, Show } from 'solid-js';
import type { ContactRow, IncidentRow } from '@vitalwatch/schema/protocol/rows';
import { deviceUtcOffsetMinutes } from '@vitalwatch/schema/sms/sms-time';
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

/**
 * A PIN field is shown when either PIN is set: with only a duress PIN the field must still be there, or the duress
 * PIN could never be entered (an empty or other PIN then cancels normally).
 */
function hasPin(p: { cancelPin: unknown; duressPin: unknown }): boolean {
  return p.cancelPin !== null || p.duressPin !== null;
}

/** Tier-1 contacts who take SMS; if nobody is tier 1, the lowest tier there is. */
export function smsRecipients(contacts: readonly ContactRow[]): ContactRow[] {
  const sms = contacts.filter((c) => c.notifyBySms);
  const top = Math.min(...sms.map((c) => c.tier));
  // In the contacts screen's order, so the one opened automatically is the first the user sees there.
  return sms.filter((c) => c.tier === top).sort((a, b) => a.name.localeCompare(b.name));
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

/** What the user did with one contact's message: the messaging app was opened, then their answer. */
type SmsProgress = 'opened' | 'sent' | 'not_sent';

/**
 * One `sms:` link per contact (SPEC SO2): several numbers in one link become a group MMS on many Android phones,
 * which needs mobile data. Every link carries the same one-segment text; each is recorded for its contact alone.
 */
function SmsFallback(props: { incident: IncidentRow; recipients: ContactRow[]; automatic: boolean }) {
  const { sos, prefs } = useApp();
  const [progress, setProgress] = createSignal<ReadonlyMap<string, SmsProgress>>(new Map());
  const setFor = (contactId: string, state: SmsProgress) =>
    setProgress((map) => new Map(map).set(contactId, state));
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
      utcOffsetMinutes: deviceUtcOffsetMinutes(props.incident.triggeredAt),
    }),
  );
  const href = (contact: ContactRow) =>
    smsUri(contact.phoneE164, body(), { ios: isIos(navigator.userAgent) });
  const markOpened = (contact: ContactRow) => {
    // A second tap on the same link does not take back an answer already given.
    if (progress().get(contact.id) === undefined) setFor(contact.id, 'opened');
    void sos.recordSmsOpened(props.incident.id, contact.id);
  };

  // The first contact's composer is opened once automatically per incident (not again on every reload); the
  // others are one tap each. Browsers may refuse to open another app without a tap, so this is recorded only if
  // the page was actually left (hidden) right after; the link stays on screen either way.
  createEffect(
    on(
      // Also when the contacts arrive: they load from IndexedDB after the first render.
      [() => props.automatic, () => props.recipients[0]] as const,
      ([automatic, first]) => {
        if (!automatic || first === undefined || !claimAutoOpen(props.incident.id)) return;
        const left = () => {
          if (document.visibilityState === 'hidden') markOpened(first);
        };
        document.addEventListener('visibilitychange', left, { once: true });
        setTimeout(() => document.removeEventListener('visibilitychange', left), 3_000);
        // A link click rather than a location change: the same path as the user's tap.
        const link = document.createElement('a');
        link.href = href(first);
        document.body.append(link);
        link.click();
        link.remove();
      },
    ),
  );

  const reply = (contact: ContactRow, sent: boolean) => {
    setFor(contact.id, sent ? 'sent' : 'not_sent');
    void sos.recordSmsAnswer(props.incident.id, contact.id, sent);
  };

  return (
    <section class="sms-fallback" aria-labelledby="sms-title">
      <h3 id="sms-title">Text your contacts from this phone</h3>
      <Show
        when={props.recipients.length > 0}
        fallback={<p class="warning">You have no emergency contacts who take SMS. Call for help instead.</p>}
      >
        <p>
          Each link opens your messaging app with the message ready for one person.{' '}
          <strong>You must press Send</strong>, then come back for the next one.
        </p>
        <ul class="sms-links">
          <For each={props.recipients}>
            {(contact) => (
              <li data-testid="sms-contact">
                <a class="big-link" href={href(contact)} onClick={() => markOpened(contact)}>
                  Text {contact.name}
                </a>
                <Show when={progress().get(contact.id)}>
                  {(state) => (
                    <Show
                      when={state() === 'opened'}
                      fallback={
                        <p class={state() === 'sent' ? undefined : 'warning'} role="status">
                          {state() === 'sent'
                            ? `You said the message to ${contact.name} sent.`
                            : `Not sent to ${contact.name}. Try the link again, or call them.`}
                        </p>
                      }
                    >
                      <div role="group" aria-label={`Did the message to ${contact.name} send?`}>
                        <p>Messaging app opened. Did the message to {contact.name} send?</p>
                        <button type="button" onClick={() => reply(contact, true)}>
                          Yes, it sent
                        </button>
                        <button type="button" onClick={() => reply(contact, false)}>
                          No
                        </button>
                      </div>
                    </Show>
                  )}
                </Show>
              </li>
            )}
          </For>
        </ul>
        <p class="sms-body" data-testid="sms-body">
          {body()}
        </p>
        <Show when={[...progress().values()].includes('sent')}>
          <p>Contacts can reply "OK {props.incident.code}" to tell you they have seen it.</p>
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
      utcOffsetMinutes: deviceUtcOffsetMinutes(props.incident.resolvedAt ?? Date.now()),
    });

  return (
    <section class="resolved" aria-labelledby="resolved-title">
      <h2 id="resolved-title">You marked yourself safe</h2>
      <DeliveryLedger logs={logs()} contacts={contacts()} heading="Your contacts:" />
      <Show when={!online() && recipients().length > 0}>
        <p>You are offline. Let your contacts know you are safe, one message each:</p>
        <ul class="sms-links">
          <For each={recipients()}>
            {(contact) => (
              <li>
                <a
                  class="big-link"
                  href={smsUri(contact.phoneE164, body(), { ios: isIos(navigator.userAgent) })}
                >
                  Send all-clear to {contact.name}
                </a>
              </li>
            )}
          </For>
        </ul>
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
