/**
 * Dexie's liveQuery bridged to a Solid signal: the query re-runs whenever a table it read changes, in this tab
 * or another one (and after the service worker syncs), and the signal follows. Owned by the calling component.
 */
import { liveQuery } from 'dexie';
import { createSignal, onCleanup, type Accessor } from 'solid-js';

export function createLiveQuery<T>(query: () => T | Promise<T>, initial: T): Accessor<T> {
  const [value, setValue] = createSignal<T>(initial);
  const subscription = liveQuery(query).subscribe({
    next: (next) => setValue(() => next),
    error: (error: unknown) => console.error('VitalWatch: a local query failed', error),
  });
  onCleanup(() => subscription.unsubscribe());
  return value;
}
