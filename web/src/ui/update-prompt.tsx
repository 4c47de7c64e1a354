/**
 * A new service worker waits until the user accepts (service-worker-registration.ts). Accepting first
 * pushes what waits in the outbox (up to UPDATE_FLUSH_MS), then activates the new worker through SKIP_WAITING.
 * Anything still waiting (offline) is safe across the update: the new build's Dexie upgrade migrates pending
 * outbox entries with the rows (LOCAL_DB_VERSIONS), and the server accepts the previous mutator version for a
 * release. The prompt is not shown during an SOS countdown or an open incident.
 */
import { createSignal, Show } from 'solid-js';
import { useApp } from './app-context.ts';
import { registerServiceWorker } from './service-worker-registration.ts';

const UPDATE_FLUSH_MS = 10_000;

export function UpdatePrompt(props: { hidden: boolean }) {
  const { device } = useApp();
  const worker = registerServiceWorker('/sw.js');
  const [updating, setUpdating] = createSignal(false);

  async function update(): Promise<void> {
    setUpdating(true);
    if ((await device.db.outbox.count()) > 0) {
      await Promise.race([
        device.loop.syncNow(),
        new Promise((resolve) => setTimeout(resolve, UPDATE_FLUSH_MS)),
      ]);
    }
    worker.activateWaiting();
  }

  return (
    <Show when={worker.waiting() && !props.hidden}>
      <section class="update" role="alert">
        <p>Update available.</p>
        <button type="button" disabled={updating()} onClick={() => void update()}>
          {updating() ? 'Updating…' : 'Update now'}
        </button>
      </section>
    </Show>
  );
}
