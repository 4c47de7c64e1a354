/**
 * The support sheet (issue #16 item 1, SPEC WB20), opened at once by "I need support now" on the home screen and
 * by a check-in at the lowest mood: a number that answers, the two coping tools that helped this user most, and
 * "Message someone I trust" (a text the user edits and sends from their own messages app). The number: the
 * emergency number first, then the region's crisis line (crisis-line-card.tsx). Opening it, and
 * everything on it, contacts nobody: no alert, no SMS, no row for anyone else (docs/safety-practice.md). The
 * user's safety plan joins it when the plan exists.
 */
import { createMemo, createSignal, For, Show } from 'solid-js';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { isIos } from '../sos/sos-sms.ts';
import { COPING_TOOLS } from '../wellbeing/coping-tools.ts';
import { orderCopingTools } from '../wellbeing/order-coping-tools.ts';
import { SUPPORT_FROM_CHECK_IN } from '../wellbeing/support-trigger.ts';
import { CrisisLineCard } from '../wellbeing/crisis-line-card.tsx';
import { DEFAULT_TRUSTED_MESSAGE, trustedMessageUri } from '../wellbeing/trusted-message.ts';
import { CopingToolLinks } from './coping-tool-links.tsx';
import './wellbeing.css';

export default function SupportScreen(props: { from: string | null }) {
  const { device, prefs } = useApp();
  const uses = createLiveQuery(() => device.db.coping_tools_usage.toArray(), []);
  const tools = () => orderCopingTools(COPING_TOOLS, uses()).slice(0, 2);
  return (
    <section class="wellbeing support" aria-labelledby="support-title">
      <h2 id="support-title" tabindex="-1" ref={(el) => queueMicrotask(() => el.focus())}>
        You are not alone right now
      </h2>
      <Show when={props.from === SUPPORT_FROM_CHECK_IN}>
        <p role="status">Your check-in is saved.</p>
      </Show>
      <p>Take one small step. Nothing here contacts anyone unless you choose to.</p>
      <h3>Talk to someone now</h3>
      <a class="big-link call" href={`tel:${prefs.prefs().emergencyNumber}`}>
        Call {prefs.prefs().emergencyNumber} (emergency number)
      </a>
      <p>If you might act on thoughts of hurting yourself, or you are in danger, call now.</p>
      <CrisisLineCard
        region={prefs.prefs().region}
        emergencyNumber={prefs.prefs().emergencyNumber}
        emergencyShown
      />
      <h3>Try one of these</h3>
      <CopingToolLinks tools={tools()} label="Coping tools that may help" />
      <p>
        <a href="#/coping">All coping tools</a>
      </p>
      <TrustedMessage />
    </section>
  );
}

function TrustedMessage() {
  const { device } = useApp();
  const contacts = createLiveQuery(
    () =>
      device.db.emergency_contacts
        .toArray()
        .then((all) => all.sort((a, b) => a.tier - b.tier || a.name.localeCompare(b.name))),
    [],
  );
  const [chosen, setChosen] = createSignal<string | null>(null);
  const [text, setText] = createSignal(DEFAULT_TRUSTED_MESSAGE);
  const contact = createMemo(() => contacts().find((c) => c.id === chosen()) ?? contacts()[0]);
  return (
    <section class="trusted" aria-labelledby="trusted-title">
      <h3 id="trusted-title">Message someone I trust</h3>
      <Show
        when={contact()}
        fallback={
          <p>
            You have no contacts saved yet. <a href="#/contacts">Add someone you trust</a>.
          </p>
        }
      >
        {(person) => (
          <>
            <Show when={contacts().length > 1}>
              <label>
                Who
                <select value={person().id} onChange={(e) => setChosen(e.currentTarget.value)}>
                  <For each={contacts()}>{(c) => <option value={c.id}>{c.name}</option>}</For>
                </select>
              </label>
            </Show>
            <label>
              Your message (change it as you like)
              <textarea
                rows={3}
                maxLength={1000}
                value={text()}
                onInput={(e) => setText(e.currentTarget.value)}
              />
            </label>
            <a
              class="big-link calm"
              href={trustedMessageUri(person().phoneE164, text(), isIos(navigator.userAgent))}
            >
              Write to {person().name}
            </a>
            <p class="small">
              This opens your messages app with the text ready. Nothing is sent until you press Send there.
            </p>
          </>
        )}
      </Show>
    </section>
  );
}
