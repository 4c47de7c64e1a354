/**
 * Who was reached by what, in detail: the incident's `alert_logs` rows (the server's delivery ledger, synced down
 * through pull and pokes) in plain words, one line per contact × channel (delivery-words.ts). A lazy chunk: the
 * lines only exist once the server has answered, so the device fetches this with the network it then has (and
 * the service worker precaches it); the SOS screen decides who needs a text without it (contact-reach.ts).
 */
import { createMemo, For, Show } from 'solid-js';
import type { AlertLogRow, ContactRow } from '@vitalwatch/schema/protocol/rows';
import { describeLedger } from '../sos/delivery-words.ts';

function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export default function DeliveryLedger(props: {
  logs: readonly AlertLogRow[];
  contacts: readonly ContactRow[];
  heading: string;
}) {
  const lines = createMemo(() => describeLedger(props.logs, props.contacts, formatTime));
  return (
    <Show when={lines().length > 0}>
      <p>{props.heading}</p>
      <ul class="ledger" aria-label="Delivery to your contacts" data-testid="delivery-ledger">
        <For each={lines()}>
          {(line) => <li class={line.tone === 'bad' ? 'warning' : undefined}>{line.text}</li>}
        </For>
      </ul>
    </Show>
  );
}
