/**
 * First launch: ask the browser to keep our storage (navigator.storage.persist()) and show the answer and the
 * space used; on iOS explain Add to Home Screen, because Safari deletes a site's data after 7 days without a
 * visit (docs/platform-facts.md).
 */
import { createResource, Show } from 'solid-js';
import { useApp } from '../ui/app-context.ts';
import { isIos } from '../sos/sos-sms.ts';
import { storageReport } from './storage-report.ts';

export function Onboarding() {
  const { prefs } = useApp();
  const [report] = createResource(() => storageReport(true));
  const standalone = window.matchMedia('(display-mode: standalone)').matches;

  return (
    <section class="onboarding" aria-labelledby="onboarding-title">
      <h2 id="onboarding-title">Welcome to VitalWatch</h2>
      <p>
        Everything works on this phone without an account or a connection. Add your emergency contacts first.
      </p>
      <Show when={report()}>{(r) => <p data-testid="storage-report">{r().text}</p>}</Show>
      <Show when={isIos(navigator.userAgent) && !standalone}>
        <p class="warning">
          On iPhone and iPad, tap Share, then <strong>Add to Home Screen</strong>. Safari deletes a website's
          data after 7 days without a visit; the home-screen app keeps it.
        </p>
      </Show>
      <button type="button" onClick={() => prefs.update({ onboarded: true })}>
        Got it
      </button>
    </section>
  );
}
