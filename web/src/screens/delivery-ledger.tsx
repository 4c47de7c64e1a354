/**
 * Who was reached by what, live: the incident's `alert_logs` rows (the server's delivery ledger, synced down
 * through pull and pokes) in plain words, one line per contact × channel (delivery-words.ts). Until the first
 * row arrives, `fallback` is shown instead (the SOS screen's "received by the server" line).
 *
 * `createLedgerRows(incidentId)` reads the id once: Dexie's liveQuery does not track Solid signals, so its
 * caller must be keyed by incident id (the SOS screen's IncidentView is).
 */
import { createMemo, createSignal, For, onCleanup, Show, type JSX } from 'solid-js';
import type { AlertLogRow, ContactRow, IncidentRow } from '@vitalwatch/schema/protocol/rows';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { DEFAULT_ALL_AFTER_MS, describeLedger, nobodyAnswered } from '../sos/delivery-words.ts';

function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** The incident's ledger rows, live. Keyed by the caller: the id is read once. */
export function createLedgerRows(incidentId: string) {
  const { device } = useApp();
  return createLiveQuery<AlertLogRow[]>(
    () => device.db.alert_logs.where('incidentId').equals(incidentId).toArray(),
    [],
  );
}

export function DeliveryLedger(props: {
  logs: readonly AlertLogRow[];
  contacts: readonly ContactRow[];
  heading: string;
  fallback?: JSX.Element;
}) {
  const lines = createMemo(() => describeLedger(props.logs, props.contacts, formatTime));
  return (
    <Show when={lines().length > 0} fallback={props.fallback}>
      <p>{props.heading}</p>
      <ul class="ledger" aria-label="Delivery to your contacts" data-testid="delivery-ledger">
        <For each={lines()}>
          {(line) => <li class={line.tone === 'bad' ? 'warning' : undefined}>{line.text}</li>}
        </For>
      </ul>
    </Show>
  );
}

/**
 * "Nobody has answered yet": the incident is open, no contact acknowledged, and the user's "alert everyone after"
 * (user_settings.escalateAllAfterSeconds, 5 min by default) has passed since the trigger, the moment the server
 * alerts every tier. The user is then pressed to call the emergency number themselves.
 */
export function NobodyAnsweredPrompt(props: { incident: IncidentRow; logs: readonly AlertLogRow[] }) {
  const { device, prefs } = useApp();
  const settings = createLiveQuery(() => device.db.user_settings.toCollection().first(), undefined);
  const [now, setNow] = createSignal(Date.now());
  const tick = setInterval(() => setNow(Date.now()), 10_000);
  onCleanup(() => clearInterval(tick));
  const due = () =>
    nobodyAnswered({
      incident: props.incident,
      logs: props.logs,
      allAfterMs: (settings()?.escalateAllAfterSeconds ?? DEFAULT_ALL_AFTER_MS / 1000) * 1000,
      now: now(),
    });
  const number = () => prefs.prefs().emergencyNumber;
  return (
    <Show when={due()}>
      <p class="warning" role="alert">
        <a class="big-link call" href={`tel:${number()}`}>
          Nobody has answered yet. Call {number()}
        </a>
      </p>
    </Show>
  );
}
