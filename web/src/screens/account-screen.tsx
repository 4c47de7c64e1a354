/**
 * Sign up or in (needs a connection) with supabase-js against the server's auth: the embedded GoTrue-compatible
 * provider or Supabase Auth, whichever /config.json names. The session is stored in the device database for the
 * sync client and the service worker (sync/auth-session.ts); supabase-js itself keeps nothing. Signing in turns
 * sync on, and everything recorded before is uploaded from the outbox.
 */
import { createSignal, lazy, Show } from 'solid-js';
import { createClient } from '@supabase/supabase-js';
import * as z from 'zod/mini';
import { useApp } from '../ui/app-context.ts';
import { FormMessage, type FormResult } from '../ui/form-parts.tsx';
import { createLiveQuery } from '../ui/live-query.ts';
import { bindUser } from '../sync/local-db.ts';
import {
  createSessionTokens,
  readSession,
  sessionFromTokenResponse,
  storeSession,
} from '../sync/auth-session.ts';
import { unsubscribeFromAlerts } from '../device/push-subscription.ts';
import { takeAppLink } from '../ui/pending-app-link.ts';

/** "Download my data" and "Delete my account" (issue #18): their own chunk, fetched with this screen. */
const DataRightsSection = lazy(() => import('./data-rights-section.tsx'));

const ServerConfig = z.looseObject({ supabaseUrl: z.string(), supabaseAnonKey: z.string() });

/** What to tell the person when the sign-in (after a sign-up, or on its own) failed. */
function signInFailure(
  mode: 'sign-in' | 'sign-up',
  error: { code?: string | undefined; message: string },
): string {
  if (error.code === 'email_not_confirmed') return 'Check your email to confirm the account, then sign in.';
  if (mode === 'sign-up' && error.code === 'invalid_credentials')
    return 'Could not sign in with this password. If you already have an account with this email, sign in with its password instead.';
  return error.message;
}

export default function AccountScreen() {
  const { device } = useApp();
  const session = createLiveQuery(() => readSession(device.db), null);
  const [email, setEmail] = createSignal('');
  const [password, setPassword] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const [message, setMessage] = createSignal<FormResult | null>(null);

  const submit = async (mode: 'sign-in' | 'sign-up') => {
    setBusy(true);
    setMessage(null);
    try {
      const response = await fetch('/config.json', { cache: 'no-store' });
      const config = ServerConfig.parse(await response.json());
      const supabase = createClient(config.supabaseUrl, config.supabaseAnonKey, {
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      });
      const credentials = { email: email().trim(), password: password() };
      if (mode === 'sign-up') {
        const signedUp = await supabase.auth.signUp(credentials);
        if (signedUp.error !== null) {
          setMessage({ ok: false, text: signedUp.error.message });
          return;
        }
      }
      // Sign-up answers without a session (the server's own, and Supabase with confirmations on), and the same
      // way whether or not the email already had an account: the app signs in with the password just chosen.
      const result = await supabase.auth.signInWithPassword(credentials);
      if (result.error !== null) {
        setMessage({ ok: false, text: signInFailure(mode, result.error) });
        return;
      }
      const stored = sessionFromTokenResponse(
        result.data.session,
        { authUrl: `${config.supabaseUrl.replace(/\/+$/, '')}/auth/v1`, anonKey: config.supabaseAnonKey },
        Date.now(),
      );
      await bindUser(device.db, stored.userId);
      await storeSession(device.db, stored);
      setPassword('');
      setMessage({ ok: true, text: 'Signed in. Your data is syncing.' });
      void device.loop.syncNow();
      device.pokes.wake();
      // Signed in to link an alert link (app-link-screen.tsx): back to it.
      const pendingLink = takeAppLink();
      if (pendingLink !== null) window.location.hash = `#/link/${pendingLink}`;
    } catch (error) {
      setMessage({
        ok: false,
        text: navigator.onLine
          ? `Could not sign in: ${error instanceof Error ? error.message : String(error)}`
          : 'You are offline. Signing in needs a connection; everything keeps working on this phone meanwhile.',
      });
    } finally {
      setBusy(false);
    }
  };

  const signOut = async () => {
    // Alerts for this account (as someone's emergency contact) stop on this device: after sign-out it may be
    // someone else's. Best effort and bounded: signing out never waits on the network.
    const unsubscribe = async () => {
      const tokens = createSessionTokens({ db: device.db, now: () => Date.now() });
      const token = await tokens.getAccessToken().catch(() => null);
      await unsubscribeFromAlerts(window.location.origin, token);
    };
    const ended = await Promise.race([
      unsubscribe().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000)),
    ]);
    await storeSession(device.db, null);
    setMessage({
      ok: true,
      text:
        'Signed out. Your data stays on this phone and syncs again after you sign in. ' +
        (ended
          ? 'Alerts for this account no longer come to this device.'
          : "This device could not stop its alert notifications just now: if it is no longer yours, turn off VitalWatch's notifications in the browser's settings."),
    });
  };

  return (
    <section aria-labelledby="account-title">
      <h2 id="account-title">Account and sync</h2>
      <Show
        when={session()}
        fallback={
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void submit('sign-in');
            }}
          >
            <p>
              VitalWatch works without an account. Sign in to back up your data and use it on other devices;
              everything you recorded so far is uploaded.
            </p>
            <label>
              Email
              <input
                type="email"
                autocomplete="email"
                value={email()}
                onInput={(e) => setEmail(e.currentTarget.value)}
              />
            </label>
            <label>
              Password
              <input
                type="password"
                autocomplete="current-password"
                value={password()}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </label>
            <button type="submit" disabled={busy()}>
              Sign in
            </button>
            <button type="button" disabled={busy()} onClick={() => void submit('sign-up')}>
              Create account
            </button>
          </form>
        }
      >
        {(s) => (
          <div>
            <p>Signed in as {s().email ?? s().userId}.</p>
            <button type="button" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        )}
      </Show>
      <FormMessage message={message} />
      <DataRightsSection session={session()} />
    </section>
  );
}
