/**
 * `#/link/<token>`, opened from the `/a/<token>` page an alert links to: a contact who uses VitalWatch links their
 * own account to the contact entry that alerted them, so later alerts also come as a notification and in the open
 * app (server: sync-server/src/alerts/app-link-routes.ts, SPEC AL23, AL28).
 *
 * Signed out: explains, links to the account screen and keeps the token for this tab (pending-app-link.ts); the
 * account screen comes back here after sign-in. Signed in: asks the server whose alerts these are, offers the
 * button, then offers to turn on notifications on this device. Offline: says so, changes nothing, and asks
 * again when the connection is back. Loaded on demand: nothing here is on the SOS path.
 */
import { createEffect, createSignal, Match, on, onCleanup, Show, Switch } from 'solid-js';
import { ALERT_LINK_TOKEN_PATTERN, AppLinkAnswer, appLinkPath } from '@vitalwatch/schema/protocol/app-link';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { rememberAppLink, takeAppLink } from '../ui/pending-app-link.ts';
import { createSessionTokens, readSession, type StoredSession } from '../sync/auth-session.ts';
import { AlertSubscriptionSection } from './alert-subscription-section.tsx';

type View =
  | { kind: 'checking' }
  | { kind: 'ready'; name: string | null }
  | { kind: 'linked'; name: string | null; justNow: boolean }
  | { kind: 'unlinked'; name: string | null }
  | { kind: 'problem'; text: string; signIn: boolean; offline: boolean };

const OFFLINE: View = {
  kind: 'problem',
  text: 'You are offline. Linking needs a connection; nothing was changed. This screen tries again when you are back online.',
  signIn: false,
  offline: true,
};

const SIGNED_OUT: View = {
  kind: 'problem',
  text: 'Your sign-in has ended. Sign in again; you come back here afterwards.',
  signIn: true,
  offline: false,
};

const alertsOf = (name: string | null) => (name === null ? 'these alerts' : `${name}'s alerts`);
const AlertsOf = (name: string | null) => (name === null ? 'These alerts' : `${name}'s alerts`);

function serverMessage(body: unknown, status: number): string {
  const message =
    typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string'
      ? body.message
      : null;
  return message ?? `The server did not accept this (HTTP ${status}). Try again later.`;
}

/** One call of the app-link API as the signed-in account: its answer, or the view that says what went wrong. */
async function callAppLink(
  method: 'GET' | 'POST' | 'DELETE',
  token: string,
  accessToken: string,
): Promise<AppLinkAnswer | View> {
  let response: Response;
  try {
    response = await fetch(appLinkPath(token), {
      method,
      headers: { authorization: `Bearer ${accessToken}` },
      cache: 'no-store',
    });
  } catch {
    return navigator.onLine
      ? { kind: 'problem', text: 'The server could not be reached. Try again.', signIn: false, offline: true }
      : OFFLINE;
  }
  const body: unknown = await response.json().catch(() => null);
  if (response.status === 401) return SIGNED_OUT;
  if (!response.ok)
    return { kind: 'problem', text: serverMessage(body, response.status), signIn: false, offline: false };
  const answer = AppLinkAnswer.safeParse(body);
  return answer.success
    ? answer.data
    : {
        kind: 'problem',
        text: 'The server answered in a way this app does not understand.',
        signIn: false,
        offline: false,
      };
}

export default function AppLinkScreen(props: { token: string | null }) {
  const { device } = useApp();
  // undefined while the stored session is being read: neither "signed in" nor "signed out" yet.
  const session = createLiveQuery<StoredSession | null | undefined>(() => readSession(device.db), undefined);
  const tokens = createSessionTokens({ db: device.db, now: () => Date.now() });
  const [view, setView] = createSignal<View>({ kind: 'checking' });
  const [busy, setBusy] = createSignal(false);
  const token = () =>
    props.token !== null && ALERT_LINK_TOKEN_PATTERN.test(props.token) ? props.token : null;

  /** Calls the API and returns its answer; on a problem, shows it and returns null. */
  async function call(method: 'GET' | 'POST' | 'DELETE'): Promise<AppLinkAnswer | null> {
    const linkToken = token();
    if (linkToken === null) return null;
    if (!navigator.onLine) {
      setView(OFFLINE);
      return null;
    }
    const accessToken = await tokens.getAccessToken().catch(() => null);
    const outcome = accessToken === null ? SIGNED_OUT : await callAppLink(method, linkToken, accessToken);
    if ('kind' in outcome) {
      if (outcome.kind === 'problem' && outcome.signIn) rememberAppLink(linkToken);
      setView(outcome);
      return null;
    }
    return outcome;
  }

  const check = async () => {
    setView({ kind: 'checking' });
    const answer = await call('GET');
    if (answer !== null)
      setView(
        answer.linked
          ? { kind: 'linked', name: answer.name, justNow: false }
          : { kind: 'ready', name: answer.name },
      );
  };

  const change = async (method: 'POST' | 'DELETE') => {
    setBusy(true);
    try {
      const answer = await call(method);
      if (answer !== null)
        setView(
          answer.linked
            ? { kind: 'linked', name: answer.name, justNow: true }
            : { kind: 'unlinked', name: answer.name },
        );
    } finally {
      setBusy(false);
    }
  };

  // Ask once the stored session is known, and again if another account signs in meanwhile.
  const signedIn = () => {
    const current = session();
    return current === undefined ? undefined : (current?.userId ?? null);
  };
  createEffect(
    on(signedIn, (userId) => {
      const linkToken = token();
      if (linkToken === null || userId === undefined) return;
      if (userId === null) {
        rememberAppLink(linkToken);
        return;
      }
      takeAppLink();
      void check();
    }),
  );
  const onOnline = () => {
    const current = view();
    if (current.kind === 'problem' && current.offline) void check();
  };
  window.addEventListener('online', onOnline);
  onCleanup(() => window.removeEventListener('online', onOnline));

  const is = <K extends View['kind']>(kind: K) => {
    const current = view();
    return current.kind === kind ? (current as Extract<View, { kind: K }>) : null;
  };

  return (
    <section aria-labelledby="app-link-title">
      <h2 id="app-link-title">Alerts in the app</h2>
      <Show
        when={token()}
        fallback={<p>This link is incomplete. Open it again from the alert you received.</p>}
      >
        <Switch>
          <Match when={signedIn() === undefined}>
            <p>Loading…</p>
          </Match>
          <Match when={signedIn() === null}>
            <p>
              Someone who lists you as an emergency contact can reach you in the VitalWatch app too: a
              notification on this device and an alert in the open app, besides the text message.
            </p>
            <p>Sign in or create an account first; you come back here afterwards.</p>
            <p>
              <a href="#/account">Sign in or create an account</a>
            </p>
          </Match>
          <Match when={is('checking')}>
            <p>Checking the link…</p>
          </Match>
          <Match when={is('ready')}>
            {(ready) => (
              <>
                <p>
                  Get {alertsOf(ready().name)} on this account: a notification and an alert in the open app
                  whenever they send an SOS, besides the text message.
                </p>
                <button type="button" disabled={busy()} onClick={() => void change('POST')}>
                  Get {alertsOf(ready().name)} on this account
                </button>
              </>
            )}
          </Match>
          <Match when={is('linked')}>
            {(linked) => (
              <>
                <p role="status">
                  {linked().justNow
                    ? `Done: ${alertsOf(linked().name)} now come to this account in the VitalWatch app.`
                    : `${AlertsOf(linked().name)} already come to this account in the VitalWatch app.`}
                </p>
                <p>Turn on notifications so they reach this device when the app is closed:</p>
                <AlertSubscriptionSection />
                <button type="button" disabled={busy()} onClick={() => void change('DELETE')}>
                  Stop getting {alertsOf(linked().name)} on this account
                </button>
              </>
            )}
          </Match>
          <Match when={is('unlinked')}>
            {(unlinked) => (
              <p role="status">
                {AlertsOf(unlinked().name)} no longer come to this account in the app. The text messages still
                reach your phone.
              </p>
            )}
          </Match>
          <Match when={is('problem')}>
            {(problem) => (
              <>
                <p class="warning" role="alert">
                  {problem().text}
                </p>
                <Show
                  when={problem().signIn}
                  fallback={
                    <button type="button" onClick={() => void check()}>
                      Try again
                    </button>
                  }
                >
                  <p>
                    <a href="#/account">Sign in</a>
                  </p>
                </Show>
              </>
            )}
          </Match>
        </Switch>
      </Show>
    </section>
  );
}
