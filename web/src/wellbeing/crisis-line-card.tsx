/**
 * The crisis line for the user's region, beside the emergency number (issue #16 item 5; SPEC WB5, WB6). It carries
 * the crisis-line data (about 7 KB gzip): import it only from lazy chunks (Settings, the support sheet), never from
 * the entry, so the first visit does not load it (WB7). With no sourced line for the region it says
 * so plainly, still shows the emergency number, and links to an international directory (which needs the
 * internet). Nothing here calls or texts anyone: every link opens the phone's own dialler or messaging app.
 * The support sheet (issue #16 item 1) imports this component too: keep the name and the props.
 */
import { For, Show } from 'solid-js';
import { crisisLineFor } from '@vitalwatch/schema/crisis-lines/crisis-line-for';
import { CRISIS_LINE_DIRECTORY } from '@vitalwatch/schema/crisis-lines/crisis-lines';
import { crisisLineView, type CrisisLink } from './crisis-line-view.ts';

function regionLabel(region: string): string {
  try {
    return new Intl.DisplayNames([...navigator.languages, 'en'], { type: 'region' }).of(region) ?? region;
  } catch {
    return region;
  }
}

function LinkItem(props: { link: CrisisLink; kind: 'call' | 'text' }) {
  return (
    <li>
      <a class={props.kind === 'call' ? 'big-link call' : 'big-link'} href={props.link.href}>
        {props.link.text}
      </a>
      <Show when={props.link.label}>{(label) => <span class="hint">{label()}</span>}</Show>
    </li>
  );
}

export function CrisisLineCard(props: {
  region: string | null;
  emergencyNumber: string;
  /** The screen already offers the emergency number above the card (the support sheet): leave it out here. */
  emergencyShown?: boolean;
}) {
  const line = () => {
    const found = crisisLineFor(props.region);
    return found === null ? null : crisisLineView(found);
  };
  return (
    <section class="crisis-line-card" aria-labelledby="crisis-line-title" data-testid="crisis-line-card">
      <h3 id="crisis-line-title">Someone to talk to</h3>
      <Show
        when={line()}
        fallback={
          <>
            <p data-testid="no-crisis-line">
              {props.region === null
                ? 'Your country is not set, so no crisis line is shown. Set it in Settings (under the emergency number).'
                : `We have no checked crisis line for ${regionLabel(props.region)} yet.`}
            </p>
            <p>
              <a href={CRISIS_LINE_DIRECTORY.url} target="_blank" rel="noopener">
                Find a line in {CRISIS_LINE_DIRECTORY.name}
              </a>{' '}
              <span class="hint">(needs the internet)</span>
            </p>
          </>
        }
      >
        {(view) => (
          <>
            <p>
              <strong>{view().name}</strong>
            </p>
            <ul class="crisis-line-links">
              <For each={view().calls}>{(link) => <LinkItem link={link} kind="call" />}</For>
              <For each={view().texts}>{(link) => <LinkItem link={link} kind="text" />}</For>
            </ul>
            <Show when={view().note}>{(note) => <p>{note()}</p>}</Show>
            <p>Hours: {view().hours}</p>
            <p>Languages: {view().languages}</p>
            <p class="hint" data-testid="crisis-line-checked">
              {view().checked} (
              <a href={view().sources[0]} target="_blank" rel="noopener">
                source
              </a>
              ).
            </p>
          </>
        )}
      </Show>
      <Show when={props.emergencyShown !== true}>
        <p class="crisis-emergency" data-testid="crisis-emergency">
          In danger now? Call the emergency number{' '}
          <a href={`tel:${props.emergencyNumber}`}>{props.emergencyNumber}</a>.
        </p>
      </Show>
    </section>
  );
}
