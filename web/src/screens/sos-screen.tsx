/**
 * The SOS screen: the countdown, then the open incident. What it promises is only what was observed: "saved on
 * this phone" after the local commit, "received by the server" only after the server acknowledged the trigger,
 * "reached" only for a contact with an observed delivery (contact-reach.ts), "messaging app opened" when the
 * user tapped an SMS link (a web page cannot see whether an SMS was sent, so it asks).
 *
 * The phone takes over wherever nothing was observed (SPEC SO8): each unreached contact of the current
 * escalation step gets their own `sms:` link, the first opened once by itself; when nobody has been reached the
 * emergency number comes first. Nothing here needs the network; only the detailed ledger is a lazy chunk.
 */
import {
  createEffect,
  createMemo,
  createSignal,
  ErrorBoundary,
  For,
  lazy,
  on,
  onCleanup,
  Show,
  Suspense,
  untrack,
} from 'solid-js';
import type { AlertLogRow, ContactRow, IncidentRow } from '@vitalwatch/schema/protocol/rows';
import { isOpenIncident } from '@vitalwatch/schema/protocol/incident-status';
import { deviceUtcOffsetMinutes } from '@vitalwatch/schema/sms/sms-time';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { SafetyNotice } from '../ui/safety-notice.tsx';
import { PinInput } from '../ui/form-parts.tsx';
import { formatDateTime } from '../ui/relative-time.ts';
import { openIncidents } from './open-incidents.ts';
import { EvidencePanel } from './evidence-panel.tsx';
import { buildAllClearSms, buildSosSms, isIos, smsUri } from '../sos/sos-sms.ts';
import { triggerAcknowledged } from '../sos/trigger-acknowledged.ts';
import { planReach, type ContactPlan, type ReachPlan } from '../sos/contact-reach.ts';
import { escalationWords, reachHeadline, whyShort } from '../sos/reach-words.ts';
import { needsPin } from '../sos/sos-settings.ts';

const DeliveryLedger = lazy(() => import('./delivery-ledger.tsx'));

/** The incident's ledger rows, live. Keyed by the caller: Dexie's liveQuery reads the id once. */
function createLedgerRows(incidentId: string) {
  const { device } = useApp();
  return createLiveQuery<AlertLogRow[]>(
    () => device.db.alert_logs.where('incidentId').equals(incidentId).toArray(),
    [],
  );
}

function createContacts() {
  const { device } = useApp();
  return createLiveQuery<ContactRow[]>(() => device.db.emergency_contacts.toArray(), []);
}

/** Contacts who take SMS, tier then name order: the offline all-clear goes to each of them. */
function smsContacts(contacts: readonly ContactRow[]): ContactRow[] {
  return contacts
    .filter((c) => c.notifyBySms)
    .sort((a, b) => a.tier - b.tier || a.name.localeCompare(b.name));
}

/** `Date.now()` as a signal that moves at `at()` (and at least every 30 s): the reach plan's recheck times. */
function createNow(at: () => number | null) {
  const [now, setNow] = createSignal(Date.now());
  let timer: number | undefined;
  const schedule = (next: number | null) => {
    window.clearTimeout(timer);
    const wait = Math.min(30_000, Math.max(0, (next ?? Infinity) - Date.now()) + 50);
    timer = window.setTimeout(() => {
      setNow(Date.now());
      schedule(untrack(at));
    }, wait);
  };
  createEffect(() => schedule(at()));
  onCleanup(() => window.clearTimeout(timer));
  return now;
}

function Countdown() {
  const { sos } = useApp();
  const [pin, setPin] = createSignal('');
  const [wrongPin, setWrongPin] = createSignal(false);
  const withPin = () => needsPin(sos.settings());

  const cancel = async (event: SubmitEvent) => {
    event.preventDefault();
    const ok = await sos.cancel(withPin() ? pin() : undefined);
    setWrongPin(!ok);
    setPin('');
  };

  return (
    <Show when={sos.countdown()}>
      {(state) => (
        <section class="countdown" aria-labelledby="countdown-title">
          <h2 id="countdown-title">{sos.silent() ? 'Sending silent SOS' : 'Sending SOS'}</h2>
          <p role="timer" aria-label="SOS countdown" aria-live="assertive" class="countdown-number">
            {state().remainingS}
          </p>
          <p>Your emergency contacts will be alerted when the countdown ends.</p>
          <form onSubmit={(event) => void cancel(event)}>
            <Show when={withPin()}>
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

function sosBody(incident: IncidentRow, name: string): string {
  return buildSosSms({
    code: incident.code,
    name,
    best:
      incident.latitude === null || incident.longitude === null
        ? null
        : {
            source:
              incident.locatedAt !== null && incident.triggeredAt - incident.locatedAt > 60_000
                ? 'last-known'
                : 'fresh',
            fix: {
              lat: incident.latitude,
              lng: incident.longitude,
              accuracyM: incident.accuracyMeters ?? 0,
              at: incident.locatedAt ?? incident.triggeredAt,
            },
          },
    now: incident.triggeredAt,
    utcOffsetMinutes: deviceUtcOffsetMinutes(incident.triggeredAt),
  });
}

/**
 * One `sms:` link per unreached contact (SPEC SO2, SO10): several numbers in one link become a group MMS on many
 * Android phones, which needs mobile data. Every link carries the same one-segment text; each tap is recorded
 * for its contact alone, then "Did it send?" asks about that message. A contact stays listed after a "yes": the
 * server then leaves them out (AL3), and only an observed delivery takes them off.
 */
function SmsFallback(props: { incident: IncidentRow; plans: readonly ContactPlan<ContactRow>[] }) {
  const { sos } = useApp();
  const [progress, setProgress] = createSignal<ReadonlyMap<string, SmsProgress>>(new Map());
  const setFor = (contactId: string, state: SmsProgress) =>
    setProgress((map) => new Map(map).set(contactId, state));
  const body = createMemo(() => sosBody(props.incident, sos.settings().name));
  const href = (contact: Pick<ContactRow, 'phoneE164'>) =>
    smsUri(contact.phoneE164, body(), { ios: isIos(navigator.userAgent) });
  const markOpened = (contact: Pick<ContactRow, 'id'>) => {
    // A second tap on the same link does not take back an answer already given.
    if (progress().get(contact.id) === undefined) setFor(contact.id, 'opened');
    void sos.recordSmsOpened(props.incident.id, contact.id);
  };

  // The first unreached contact's composer is opened once automatically per incident (not again on every reload
  // nor at each escalation step); the others are one tap each. Browsers may refuse to open another app without a
  // tap, so this is recorded only if the page was actually left (hidden) right after; the link stays either way.
  createEffect(
    on(
      () => props.plans[0]?.contact,
      (first) => {
        if (first === undefined || !claimAutoOpen(props.incident.id)) return;
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

  const reply = (contact: Pick<ContactRow, 'id'>, sent: boolean) => {
    setFor(contact.id, sent ? 'sent' : 'not_sent');
    void sos.recordSmsAnswer(props.incident.id, contact.id, sent);
  };

  return (
    <section class="sms-fallback" aria-labelledby="sms-title">
      <h3 id="sms-title">
        Text them from this phone: <strong>press Send</strong> each time
      </h3>
      <ul class="sms-links">
        {/* By contact (stable rows): the plan is rebuilt on every tick, a row must not be rebuilt mid-tap. */}
        <For each={props.plans.map((plan) => plan.contact)}>
          {(contact) => {
            const plan = () => props.plans.find((p) => p.contact.id === contact.id);
            return (
              <li data-testid="sms-contact">
                <a class="big-link" href={href(contact)} onClick={() => markOpened(contact)}>
                  Text {contact.name}
                </a>
                <p class="why">
                  Tier {contact.tier}: {whyShort(plan() ?? { why: null })}
                </p>
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
            );
          }}
        </For>
      </ul>
      <p>One message per person: tap a name, press Send in your messaging app, come back for the next.</p>
      <p class="sms-body" data-testid="sms-body">
        {body()}
      </p>
      <p>Contacts can reply "OK {props.incident.code}" to tell you they have seen it.</p>
    </section>
  );
}

function CallLink(props: { number: string; urgent: boolean }) {
  return (
    <p>
      <a class="big-link call" href={`tel:${props.number}`}>
        {props.urgent ? `Call ${props.number} now` : `Call ${props.number} (emergency number)`}
      </a>
    </p>
  );
}

/** Who was reached, and the phone's own texts for everyone who was not. */
function Reach(props: { incident: IncidentRow; plan: ReachPlan<ContactRow> }) {
  const { sos } = useApp();
  const headline = createMemo(() => reachHeadline(props.plan, sos.settings().emergencyNumber));
  const escalation = () => escalationWords(props.plan, sos.settings().escalation);
  const call = () => <CallLink number={sos.settings().emergencyNumber} urgent={headline().urgent} />;
  return (
    <section class="reach" aria-labelledby="reach-title" data-testid="reach">
      <div class={headline().urgent ? 'reach-head warning' : 'reach-head'}>
        <h3 id="reach-title" aria-live="polite">
          {headline().title}
        </h3>
        <For each={headline().reasons}>{(reason) => <p>{reason}</p>}</For>
        <Show when={escalation()}>{(words) => <p>{words()}</p>}</Show>
      </div>
      <Show when={headline().urgent}>{call()}</Show>
      <Show when={props.plan.fallback.length > 0}>
        <SmsFallback incident={props.incident} plans={props.plan.fallback} />
      </Show>
      <Show when={!headline().urgent}>{call()}</Show>
      <p class="hint">SMS is best effort and does not replace the emergency number.</p>
    </section>
  );
}

function OpenIncident(props: { incident: IncidentRow }) {
  const { device, sos } = useApp();
  const contacts = createContacts();
  const received = createLiveQuery(() => triggerAcknowledged(device.db, props.incident.id), false);
  const logs = createLedgerRows(props.incident.id);
  const [recheck, setRecheck] = createSignal<number | null>(null);
  const now = createNow(recheck);
  // Everyone offered a link so far keeps it until a delivery is observed (SPEC SO53), a late server ack included.
  const [offered, setOffered] = createSignal<ReadonlySet<string>>(new Set());
  const plan = createMemo(() =>
    planReach({
      contacts: contacts(),
      logs: logs(),
      incident: props.incident,
      serverHasIt: received(),
      link: sos.link(),
      now: now(),
      escalation: sos.settings().escalation,
      offered: offered(),
    }),
  );
  createEffect(() => setRecheck(plan().recheckAt));
  createEffect(() => {
    const known = untrack(offered);
    const added = plan().fallback.filter((p) => !known.has(p.contact.id));
    if (added.length > 0) setOffered(new Set([...known, ...added.map((p) => p.contact.id)]));
  });
  const [pin, setPin] = createSignal('');
  const [wrongPin, setWrongPin] = createSignal(false);

  const safe = async (event: SubmitEvent) => {
    event.preventDefault();
    const ok = await sos.resolve(props.incident.id, needsPin(sos.settings()) ? pin() : undefined);
    setWrongPin(!ok);
    setPin('');
  };

  return (
    <section class="incident" aria-labelledby="incident-title">
      <h2 id="incident-title">SOS {props.incident.code} is open</h2>
      <Reach incident={props.incident} plan={plan()} />
      <ul class="progress" aria-label="Progress">
        <li>✓ Saved on this phone at {formatDateTime(props.incident.triggeredAt)}</li>
        <li>
          {props.incident.latitude === null
            ? 'Location: not known yet'
            : `Location: ${props.incident.latitude.toFixed(5)}, ${props.incident.longitude?.toFixed(5) ?? ''} (±${Math.round(props.incident.accuracyMeters ?? 0)} m)`}
        </li>
        <li data-testid="server-state">
          {received()
            ? '✓ Received by the server'
            : sos.link() === 'signed_out'
              ? 'Not sent to a server: you are not signed in'
              : 'Not yet received by the server: waiting for a connection'}
          <Ledger logs={logs()} contacts={contacts()} heading="Your contacts:" />
        </li>
      </ul>
      <form onSubmit={(event) => void safe(event)}>
        <Show when={needsPin(sos.settings())}>
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

/** The detailed ledger, loaded only once there are rows (a lazy chunk; never in the way of the SOS). */
function Ledger(props: { logs: readonly AlertLogRow[]; contacts: readonly ContactRow[]; heading: string }) {
  return (
    <Show when={props.logs.length > 0}>
      <ErrorBoundary fallback={null}>
        <Suspense fallback={null}>
          <DeliveryLedger logs={props.logs} contacts={props.contacts} heading={props.heading} />
        </Suspense>
      </ErrorBoundary>
    </Show>
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
  const { sos } = useApp();
  const contacts = createContacts();
  const recipients = createMemo(() => smsContacts(contacts()));
  const logs = createLedgerRows(props.incident.id);
  const body = () =>
    buildAllClearSms({
      code: props.incident.code,
      name: sos.settings().name,
      now: props.incident.resolvedAt ?? Date.now(),
      utcOffsetMinutes: deviceUtcOffsetMinutes(props.incident.resolvedAt ?? Date.now()),
    });

  return (
    <section class="resolved" aria-labelledby="resolved-title">
      <h2 id="resolved-title">You marked yourself safe</h2>
      <Ledger logs={logs()} contacts={contacts()} heading="Your contacts:" />
      <Show when={sos.link() !== 'online' && recipients().length > 0}>
        <p>The server cannot tell your contacts. Let them know you are safe, one message each:</p>
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

/** One incident, by id (keyed by the caller, so the live queries are made for this id). */
function IncidentView(props: { id: string }) {
  const { device } = useApp();
  const row = createLiveQuery(() => device.db.emergency_incidents.get(props.id), undefined);
  return (
    <Show when={row()}>
      {(incident) => (
        <Show when={isOpenIncident(incident())} fallback={<AllClear incident={incident()} />}>
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
    <div class={sos.silent() ? 'sos-screen silent' : 'sos-screen'}>
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
