/**
 * The first screen. Its first control, right under the sync status line, is one big SOS button, fully on screen
 * without scrolling on small phones (360×640) and at least 160 px high (SPEC SO1); an open incident, onboarding
 * and the sections go below it. Right under it, "I need support now" opens the support sheet (SPEC WB20), and
 * "Coping tools" is one of the sections (issue #16); both screens load on demand. Held for LONG_PRESS_MS it starts a silent SOS (SPEC SO14): no alarm sound, no
 * vibration, a dim screen.
 */
import { createSignal, For, lazy, Show, Suspense } from 'solid-js';
import { useApp, type Route } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { SafetyNotice } from '../ui/safety-notice.tsx';
import { openIncidents } from './open-incidents.ts';

/** Held this long, the SOS button starts a silent SOS. */
const LONG_PRESS_MS = 800;

// Set-up is a lazy chunk (issue #14): a returning user's first visit never loads it.
const Onboarding = lazy(() => import('./onboarding.tsx'));

const LINKS: ReadonlyArray<{ route: Route; label: string }> = [
  { route: 'contacts', label: 'Contacts' },
  { route: 'mood', label: 'Mood check-in' },
  { route: 'coping', label: 'Coping tools' },
  { route: 'screeners', label: 'Check-in questionnaires' },
  { route: 'insights', label: 'Insights' },
  { route: 'history', label: 'History' },
  { route: 'settings', label: 'Settings' },
  { route: 'account', label: 'Account and sync' },
];

export function HomeScreen() {
  const { device, sos, navigate, prefs } = useApp();
  const [setupStarted, setSetupStarted] = createSignal(false);
  const open = createLiveQuery(() => openIncidents(device.db), []);
  const contactCount = createLiveQuery(() => device.db.emergency_contacts.count(), 0);

  const press = (silent = false) => {
    sos.start({ silent });
    navigate('sos');
  };
  // A long press is a silent SOS; the click that ends it must not start a second (loud) one.
  let holdTimer: number | undefined;
  let held = false;
  const holdStart = () => {
    held = false;
    window.clearTimeout(holdTimer);
    holdTimer = window.setTimeout(() => {
      held = true;
      press(true);
    }, LONG_PRESS_MS);
  };
  const holdEnd = () => window.clearTimeout(holdTimer);

  return (
    <div class="home">
      <div class="sos-area">
        <button
          type="button"
          class="sos-button"
          aria-label="SOS: alert my emergency contacts"
          onPointerDown={holdStart}
          onPointerUp={holdEnd}
          onPointerLeave={holdEnd}
          onPointerCancel={holdEnd}
          onContextMenu={(event) => event.preventDefault()}
          onClick={() => {
            if (held) held = false;
            else press();
          }}
        >
          SOS
        </button>
        <p class="hint">
          Press to start a {sos.settings().countdownSeconds}-second countdown. You can cancel it. Hold it for
          a silent SOS (no sound, dim screen).
        </p>
      </div>
      <a class="support-now" href="#/support">
        I need support now
      </a>
      <Show when={open()[0]}>
        {(incident) => (
          <section class="open-incident" role="alert">
            <p>
              <strong>SOS {incident().code} is open.</strong>
            </p>
            <button type="button" onClick={() => navigate('sos')}>
              Go to the open SOS
            </button>
          </section>
        )}
      </Show>
      <Show when={!prefs.prefs().onboarded}>
        {/* The set-up's code (phone-number rules, regions: ~45 KB) loads only when the user starts it, so a first
            visit stays within its budget and the SOS above works at once. */}
        <Show
          when={setupStarted()}
          fallback={
            <section class="onboarding" aria-labelledby="onboarding-start-title">
              <h2 id="onboarding-start-title">Set up your SOS</h2>
              <p>One minute: your name (every alert says it), your country, and one person to alert.</p>
              <button type="button" onClick={() => setSetupStarted(true)}>
                Start set-up
              </button>
            </section>
          }
        >
          <Suspense>
            <Onboarding />
          </Suspense>
        </Show>
      </Show>
      <Show when={contactCount() === 0}>
        <p class="warning">
          You have no emergency contacts yet. <a href="#/contacts">Add one</a> so an SOS can reach someone.
        </p>
      </Show>
      <nav aria-label="Sections">
        <ul class="links">
          <For each={LINKS}>
            {(link) => (
              <li>
                <a href={`#/${link.route}`}>{link.label}</a>
              </li>
            )}
          </For>
        </ul>
      </nav>
      <SafetyNotice />
    </div>
  );
}
