/**
 * `#/link/<token>`, opened from the `/a/<token>` page an alert links to: a contact who uses VitalWatch asks to get
 * the alerts of the person who alerted them in their own account, as a notification and in the open app (server:
 * sync-server/src/alerts/app-link-routes.ts, SPEC AL23, AL28, SE10). The alerts come only once that person approves
 * in their app, and the screen says so: "Waiting for Ama to approve".
 *
 * Signed out: explains, links to the account screen and keeps the token for this tab (pending-app-link.ts); the
 * account screen comes back here after sign-in. Signed in: asks the server whose alerts these are, offers the
 * button; once approved, offers to turn on notifications on this device. Offline: says so, changes nothing, and
 * asks again when the connection is back. Loaded on demand: nothing here is on the SOS path.
 */
import { createEffect, createSignal, Match, on, onCleanup, Show, Switch } from 'solid-js';
import { ALERT_LINK_TOKEN_PATTERN, AppLinkAnswer, appLinkPath } from '@vitalwatch/schema/protocol/app-link';
import { callAccountApi, OFFLINE_PROBLEM, type ApiProblem } from '../ui/account-api.ts';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { rememberAppLink, takeAppLink } from '../ui/pending-app-link.ts';
import { createSessionTokens, readSession, type StoredSession } from '../sync/auth-session.ts';
import { AlertSubscriptionSection } from './alert-subscription-section.tsx';

type View =
  | { kind: 'checking' }
  | { kind: 'ready'; name: string | null }
  | { kind: 'pending'; name: string | null; justNow: boolean }
  | { kind: 'linked'; name: string | null }
  | { kind: 'unlinked'; name: string | null; wasPending: boolean }
  | ({ kind: 'problem' } & ApiProblem);

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
const ownerOf = (name: string | null) => name ?? 'the person who alerted you';

/** What the server's answer means for this account: approved, waiting for approval, or neither. */
function stateOf(answer: AppLinkAnswer): 'linked' | 'pending' | 'none' {
  if (answer.linked) return 'linked';
  return answer.pending === true ? 'pending' : 'none';
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
    const outcome = await callAccountApi(tokens, { method, path: appLinkPath(linkToken) }, AppLinkAnswer);
    if (outcome.ok) return outcome.value;
    if (outcome.problem.signIn) rememberAppLink(linkToken);
    setView(
      outcome.problem === OFFLINE_PROBLEM
        ? OFFLINE
        : outcome.problem.signIn
          ? SIGNED_OUT
          : { kind: 'problem', ...outcome.problem },
    );
    return null;
  }

  const check = async () => {
    setView({ kind: 'checking' });
    const answer = await call('GET');
    if (answer === null) return;
    const state = stateOf(answer);
    setView(
      state === 'none'
        ? { kind: 'ready', name: answer.name }
        : state === 'linked'
          ? { kind: 'linked', name: answer.name }
          : { kind: 'pending', name: answer.name, justNow: false },
    );
  };

  const change = async (method: 'POST' | 'DELETE') => {
    const before = view().kind;
    setBusy(true);
    try {
      const answer = await call(method);
      if (answer === null) return;
      const state = stateOf(answer);
      // Linked after asking: the owner had approved this account already (only their approval links).
      setView(
        state === 'none'
          ? { kind: 'unlinked', name: answer.name, wasPending: before === 'pending' }
          : state === 'linked'
            ? { kind: 'linked', name: answer.name }
            : { kind: 'pending', name: answer.name, justNow: true },
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
                  whenever they send an SOS, besides the text message. {ownerOf(ready().name)} sees this
                  account's name and sign-in in their app and approves it first.
                </p>
                <button type="button" disabled={busy()} onClick={() => void change('POST')}>
                  Ask for {alertsOf(ready().name)} on this account
                </button>
              </>
            )}
          </Match>
          <Match when={is('pending')}>
            {(pending) => (
              <>
                <p role="status">
                  {pending().justNow ? 'Asked. ' : ''}Waiting for {ownerOf(pending().name)} to approve.
                </p>
                <p>
                  {AlertsOf(pending().name)} come to this account only once {ownerOf(pending().name)} approves
                  it under Contacts in their VitalWatch app; nothing comes here until then. The text messages
                  still reach your phone.
                </p>
                <button type="button" disabled={busy()} onClick={() => void change('DELETE')}>
                  Take back this request
                </button>
              </>
            )}
          </Match>
          <Match when={is('linked')}>
            {(linked) => (
              <>
                <p role="status">
                  {AlertsOf(linked().name)} come to this account in the VitalWatch app:{' '}
                  {ownerOf(linked().name)} approved it.
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
                {unlinked().wasPending
                  ? 'Your request was taken back.'
                  : `${AlertsOf(unlinked().name)} no longer come to this account in the app.`}{' '}
                The text messages still reach your phone.
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
