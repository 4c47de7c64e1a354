/**
 * Always visible (issue #4 §4): online or offline, how many changes wait, the last successful sync, and every
 * change the server refused with what to do about it. "Waiting" counts outbox entries: a change leaves the count
 * only when the server acknowledged it.
 */
import { createSignal, For, lazy, onCleanup, Show } from 'solid-js';
import { useApp } from './app-context.ts';
import { createLiveQuery } from './live-query.ts';
import { formatRelative } from './relative-time.ts';
import { readMeta, type Rejection } from '../sync/local-db.ts';
import { readSession } from '../sync/auth-session.ts';
import type { SyncStatus } from '../sync/sync-client.ts';

/** What the user can do about a refused change, by the server's code. */
function whatToDo(rejection: Rejection): string {
  switch (rejection.code) {
    case 'conflict':
      return 'Another device changed this first. Check the item and make your change again if it is still needed.';
    case 'illegal_transition':
      return 'This incident had already ended on another device, so the change was not needed.';
    case 'forbidden':
      return 'This account may not make that change. Sign in with the right account.';
    case 'deleted':
      return 'The item was deleted on another device. Add it again if you still need it.';
    case 'unknown_mutator':
    case 'wrong_lane':
    case 'invalid_args':
      return 'This app version sent something the server does not understand. Update the app, then make the change again.';
    default:
      return 'Your other data is safe and still syncing. Make the change again; if this repeats, contact support.';
  }
}

const AccountDeletedNotice = lazy(() => import('./account-deleted-notice.tsx'));

export function SyncStatusBar() {
  const { device } = useApp();
  const [online, setOnline] = createSignal(navigator.onLine);
  const [status, setStatus] = createSignal<SyncStatus>(device.client.status);
  const [now, setNow] = createSignal(Date.now());
  const goOnline = () => setOnline(true);
  const goOffline = () => setOnline(false);
  window.addEventListener('online', goOnline);
  window.addEventListener('offline', goOffline);
  const unsubscribe = device.client.subscribe(setStatus);
  const clock = setInterval(() => setNow(Date.now()), 30_000);
  onCleanup(() => {
    window.removeEventListener('online', goOnline);
    window.removeEventListener('offline', goOffline);
    unsubscribe();
    clearInterval(clock);
  });

  const waiting = createLiveQuery(() => device.db.outbox.count(), 0);
  const rejections = createLiveQuery(() => device.db.rejections.orderBy('at').reverse().toArray(), []);
  const lastSyncedAt = createLiveQuery(
    async () => (await readMeta(device.db, ['lastSyncedAt'])).lastSyncedAt ?? null,
    null,
  );
  const signedIn = createLiveQuery(async () => (await readSession(device.db)) !== null, false);
  const sessionEnded = createLiveQuery(
    async () => (await readMeta(device.db, ['sessionEndedAt'])).sessionEndedAt !== undefined,
    false,
  );

  // The account was deleted (here or elsewhere): the device database is erased already; the notice erases the
  // evidence files and settings and tells the person (SPEC DR11).
  const accountDeletedAt = createLiveQuery(
    async () => (await readMeta(device.db, ['accountDeletedAt'])).accountDeletedAt ?? null,
    null,
  );

  const reachable = () => online() && status().lastOutcome?.kind !== 'offline';
  const problem = () => {
    const outcome = status().lastOutcome;
    if (outcome === null) return null;
    switch (outcome.kind) {
      case 'unauthorized':
        return signedIn() ? 'Sign in again to keep syncing.' : null;
      case 'update-needed':
        return 'This app version is too old for the server. Update the app to sync.';
      case 'retry-later':
      case 'failed':
        return 'The server could not take the changes just now; trying again.';
      default:
        return null;
    }
  };

  return (
    <section class="sync-status" role="status" aria-label="Sync status">
      <p>
        <strong class={reachable() ? 'online' : 'offline'}>{reachable() ? 'Online' : 'Offline'}</strong>
        {' · '}
        <span data-testid="waiting">
          {waiting() > 0
            ? `${waiting()} ${waiting() === 1 ? 'change' : 'changes'} waiting to sync`
            : signedIn()
              ? 'Everything synced'
              : 'Everything saved on this device'}
        </span>
        {' · '}
        <Show
          when={signedIn()}
          fallback={
            <span>
              {sessionEnded()
                ? 'Your sign-in has ended: sign in again to keep syncing. Your data stays on this device.'
                : 'Not signed in: your data stays on this device'}
            </span>
          }
        >
          <span>
            {lastSyncedAt() === null
              ? 'Not synced yet'
              : `Last synced ${formatRelative(lastSyncedAt() ?? 0, now())}`}
          </span>
        </Show>
      </p>
      <Show when={accountDeletedAt() !== null}>
        <AccountDeletedNotice db={device.db} />
      </Show>
      <Show when={problem()}>{(text) => <p class="warning">{text()}</p>}</Show>
      <Show when={status().clockSkewWarning}>
        <p class="warning">
          This device's clock is more than 10 minutes off. Set the correct time so your entries are ordered
          correctly.
        </p>
      </Show>
      <For each={rejections()}>
        {(rejection) => (
          <div class="rejection" role="alert">
            <p>
              <strong>A change was not accepted:</strong> {rejection.message}
            </p>
            <p>{whatToDo(rejection)}</p>
            <button type="button" onClick={() => void device.db.rejections.delete(rejection.key)}>
              Dismiss
            </button>
          </div>
        )}
      </For>
    </section>
  );
}
