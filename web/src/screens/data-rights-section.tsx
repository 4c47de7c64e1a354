/**
 * "Your data" on the Account screen (issue #18; SPEC DR11, DR12), loaded with it as its own chunk:
 *
 * - "Download my data": signed in, the server's archive (`GET /account/export`: every record as JSON and every
 *   stored file, in one ZIP); signed out, a JSON file of everything this device holds, built here.
 * - "Delete my account" (signed in): what is lost, the password, then a last confirmation; the server deletes
 *   everything (`POST /account/delete`) and this device erases its copy (device/erase-device.ts).
 */
import { createSignal, Match, Show, Switch } from 'solid-js';
import { useApp } from '../ui/app-context.ts';
import { FormMessage, type FormResult } from '../ui/form-parts.tsx';
import { createSessionTokens, type StoredSession } from '../sync/auth-session.ts';
import { eraseDevice } from '../device/erase-device.ts';
import { deviceSnapshot } from '../device/device-snapshot.ts';

function saveFile(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function fileName(response: Response, fallback: string): string {
  return /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? fallback;
}

async function serverMessage(response: Response): Promise<string> {
  const body: unknown = await response.json().catch(() => null);
  return typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string'
    ? body.message
    : `The server answered HTTP ${response.status}. Try again later.`;
}

export default function DataRightsSection(props: { session: StoredSession | null }) {
  const { device } = useApp();
  const tokens = createSessionTokens({ db: device.db, now: () => Date.now() });
  const [busy, setBusy] = createSignal(false);
  const [message, setMessage] = createSignal<FormResult | null>(null);
  const [step, setStep] = createSignal<'idle' | 'password' | 'confirm'>('idle');
  const [password, setPassword] = createSignal('');

  const offline = (what: string) =>
    `You are offline. ${what} needs a connection; nothing was changed. Try again when you are online.`;

  const download = async () => {
    setBusy(true);
    setMessage(null);
    try {
      if (props.session === null) {
        const snapshot = await deviceSnapshot(device.db, Date.now());
        saveFile(
          new Blob([JSON.stringify(snapshot, null, 2)], { type: 'application/json' }),
          `vitalwatch-this-device-${new Date().toISOString().slice(0, 10)}.json`,
        );
        setMessage({ ok: true, text: 'Saved a file with everything this device holds.' });
        return;
      }
      const token = await tokens.getAccessToken();
      if (token === null) {
        setMessage({ ok: false, text: 'Your sign-in has ended. Sign in again to download your data.' });
        return;
      }
      const response = await fetch('/account/export', { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) {
        setMessage({ ok: false, text: await serverMessage(response) });
        return;
      }
      saveFile(await response.blob(), fileName(response, 'vitalwatch-my-data.zip'));
      setMessage({ ok: true, text: 'Saved a ZIP file with everything the server holds about you.' });
    } catch {
      setMessage({
        ok: false,
        text: navigator.onLine ? 'The download failed. Try again.' : offline('Downloading'),
      });
    } finally {
      setBusy(false);
    }
  };

  const deleteAccount = async () => {
    setBusy(true);
    setMessage(null);
    try {
      const token = await tokens.getAccessToken();
      if (token === null) {
        setMessage({ ok: false, text: 'Your sign-in has ended. Sign in again, then delete the account.' });
        return;
      }
      const response = await fetch('/account/delete', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ password: password() }),
      });
      if (response.status === 401) {
        const text = await serverMessage(response);
        setStep('password');
        setMessage({ ok: false, text });
        return;
      }
      if (!response.ok && response.status !== 202) {
        setMessage({ ok: false, text: await serverMessage(response) });
        return;
      }
      setPassword('');
      await eraseDevice(device.db, Date.now());
      setStep('idle');
      setMessage({
        ok: true,
        text:
          response.status === 202
            ? 'Your account is being deleted: the server finishes it shortly. This device has erased its copy.'
            : 'Your account and everything in it were deleted from the server, and this device has erased its copy.',
      });
    } catch {
      setMessage({
        ok: false,
        text: navigator.onLine ? 'Could not reach the server. Try again.' : offline('Deleting'),
      });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="data-rights-title">
      <h3 id="data-rights-title">Your data</h3>
      <p>
        {props.session === null
          ? 'Download a file with everything VitalWatch holds on this device.'
          : 'Download everything the server holds about you: every record, recording and photo, in one ZIP file.'}
      </p>
      <button type="button" disabled={busy()} onClick={() => void download()}>
        Download my data
      </button>
      <Show when={props.session !== null}>
        <Switch>
          <Match when={step() === 'idle'}>
            <button type="button" class="danger" disabled={busy()} onClick={() => setStep('password')}>
              Delete my account
            </button>
          </Match>
          <Match when={step() === 'password'}>
            <form
              onSubmit={(event) => {
                event.preventDefault();
                if (password() !== '') setStep('confirm');
              }}
            >
              <p class="warning" role="note">
                Deleting your account removes, for good, from the server and from this device: your emergency
                contacts, SOS incidents and their alert history, recordings and photos, moods, coping and
                therapy records, settings and sign-ins. Contacts' alert links stop working. Other signed-in
                devices erase their copy the next time they sync. This cannot be undone: download your data
                first if you want to keep it.
              </p>
              <label>
                Your password
                <input
                  type="password"
                  autocomplete="current-password"
                  value={password()}
                  onInput={(e) => setPassword(e.currentTarget.value)}
                />
              </label>
              <button type="submit" disabled={busy() || password() === ''}>
                Continue
              </button>
              <button type="button" onClick={() => (setStep('idle'), setPassword(''))}>
                Cancel
              </button>
            </form>
          </Match>
          <Match when={step() === 'confirm'}>
            <p class="warning" role="alert">
              Delete the account {props.session?.email ?? ''} and everything in it now? This cannot be undone.
            </p>
            <button type="button" class="danger" disabled={busy()} onClick={() => void deleteAccount()}>
              Yes, delete everything
            </button>
            <button type="button" disabled={busy()} onClick={() => (setStep('idle'), setPassword(''))}>
              Cancel
            </button>
          </Match>
        </Switch>
      </Show>
      <FormMessage message={message} />
    </section>
  );
}
