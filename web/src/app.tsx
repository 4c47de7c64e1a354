/**
 * The app shell: the sync status (always visible), the update prompt, and one screen chosen by the URL hash
 * (#/contacts …). Home and SOS are in the entry bundle; the other screens load on demand (they are precached,
 * so they open offline too). The SOS shortcut (/?sos=1) starts the countdown at once. `#/link/<token>` carries
 * an alert link's token to the screen that links this account to the contact it alerted (from the `/a/` page).
 */
import { createSignal, lazy, Match, onCleanup, onMount, Suspense, Switch } from 'solid-js';
import { AppContext, type AppServices, type Route } from './ui/app-context.ts';
import { SyncStatusBar } from './ui/sync-status-bar.tsx';
import { UpdatePrompt } from './ui/update-prompt.tsx';
import { HomeScreen } from './screens/home-screen.tsx';
import { SosScreen } from './screens/sos-screen.tsx';
import type { Device } from './device/device.ts';
import type { PrefsStore } from './device/prefs.ts';
import { createBrowserSosFlow } from './sos/sos-flow-browser.ts';

const ContactsScreen = lazy(() => import('./screens/contacts-screen.tsx'));
const MoodScreen = lazy(() => import('./screens/mood-screen.tsx'));
const HistoryScreen = lazy(() => import('./screens/history-screen.tsx'));
const SettingsScreen = lazy(() => import('./screens/settings-screen.tsx'));
const AccountScreen = lazy(() => import('./screens/account-screen.tsx'));
const AppLinkScreen = lazy(() => import('./screens/app-link-screen.tsx'));
// Issue #16: the coping tools and the support sheet, loaded when the user opens them.
const CopingScreen = lazy(() => import('./screens/coping-screen.tsx'));
const SupportScreen = lazy(() => import('./screens/support-screen.tsx'));
const ScreenersScreen = lazy(() => import('./screens/screeners-screen.tsx'));
const InsightsScreen = lazy(() => import('./screens/insights-screen.tsx'));

const ROUTES: readonly Route[] = [
  'home',
  'sos',
  'contacts',
  'mood',
  'history',
  'settings',
  'account',
  'link',
  'coping',
  'support',
  'screeners',
  'insights',
];

/** The routes that take a parameter: an alert link's token, the coping tool to open, where support was opened from. */
const ROUTES_WITH_PARAM: readonly Route[] = ['link', 'coping', 'support'];

/** `#/<route>` or `#/<route>/<param>` (ROUTES_WITH_PARAM). */
function routeFromHash(hash: string): { route: Route; param: string | null } {
  const [name, param] = hash.replace(/^#\/?/, '').split('/', 2);
  const route = ROUTES.find((r) => r === name) ?? 'home';
  return { route, param: ROUTES_WITH_PARAM.includes(route) ? (param ?? null) : null };
}

export function App(props: { device: Device; prefs: PrefsStore }) {
  const [location, setLocation] = createSignal(routeFromHash(window.location.hash));
  const route = () => location().route;
  const setRoute = (next: Route, param: string | null = null) => setLocation({ route: next, param });
  const onHash = () => setLocation(routeFromHash(window.location.hash));
  window.addEventListener('hashchange', onHash);
  onCleanup(() => window.removeEventListener('hashchange', onHash));

  const sos = createBrowserSosFlow(props.device, props.prefs);
  const services: AppServices = {
    device: props.device,
    prefs: props.prefs,
    sos,
    navigate(next, param) {
      // Set the signal first: the SOS countdown must be on screen in the same frame as the tap.
      setRoute(next, param ?? null);
      const hash = next === 'home' ? '' : `#/${next}${param === undefined ? '' : `/${param}`}`;
      if (window.location.hash !== hash)
        history.pushState(null, '', hash === '' ? window.location.pathname : hash);
    },
  };

  onMount(() => {
    const params = new URLSearchParams(window.location.search);
    if (params.get('sos') === '1') {
      history.replaceState(null, '', '/#/sos');
      sos.start();
      setRoute('sos');
    }
  });

  return (
    <AppContext.Provider value={services}>
      <header class="top">
        <h1>
          <a href="#/">VitalWatch</a>
        </h1>
      </header>
      <SyncStatusBar />
      <UpdatePrompt hidden={route() === 'sos' || sos.countdown() !== null} />
      <main>
        <Suspense fallback={<p>Loading…</p>}>
          <Switch fallback={<HomeScreen />}>
            <Match when={route() === 'sos'}>
              <SosScreen />
            </Match>
            <Match when={route() === 'contacts'}>
              <ContactsScreen />
            </Match>
            <Match when={route() === 'mood'}>
              <MoodScreen />
            </Match>
            <Match when={route() === 'history'}>
              <HistoryScreen />
            </Match>
            <Match when={route() === 'settings'}>
              <SettingsScreen />
            </Match>
            <Match when={route() === 'account'}>
              <AccountScreen />
            </Match>
            <Match when={route() === 'link'}>
              <AppLinkScreen token={location().param} />
            </Match>
            <Match when={route() === 'coping'}>
              <CopingScreen tool={location().param} />
            </Match>
            <Match when={route() === 'support'}>
              <SupportScreen from={location().param} />
            </Match>
            <Match when={route() === 'screeners'}>
              <ScreenersScreen />
            </Match>
            <Match when={route() === 'insights'}>
              <InsightsScreen />
            </Match>
          </Switch>
        </Suspense>
      </main>
      <footer>
        <a href="#/">Home</a>
      </footer>
    </AppContext.Provider>
  );
}
