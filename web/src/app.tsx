/**
 * Placeholder shell until the real app lands. Two things must hold even here: the safety disclaimer is always
 * visible, and launching the SOS shortcut (/?sos=1) never silently does nothing, because someone may open it in
 * an emergency.
 */
import { createSignal, onCleanup, onMount, Show } from 'solid-js';
import { useRegisterSW } from 'virtual:pwa-register/solid';

type Health = { kind: 'checking' } | { kind: 'online'; status: string } | { kind: 'offline' };

// The health contract is not fixed yet: any JSON object means reachable; a string `status` is shown if present.
function parseHealth(body: unknown): Health {
  if (typeof body !== 'object' || body === null) return { kind: 'offline' };
  const status = 'status' in body && typeof body.status === 'string' ? body.status : 'online';
  return { kind: 'online', status };
}

async function fetchHealth(): Promise<Health> {
  try {
    const response = await fetch('/healthz', { cache: 'no-store', signal: AbortSignal.timeout(5000) });
    if (!response.ok) return { kind: 'offline' };
    const body: unknown = await response.json();
    return parseHealth(body);
  } catch {
    return { kind: 'offline' };
  }
}

function healthLabel(health: Health): string {
  switch (health.kind) {
    case 'checking':
      return 'checking…';
    case 'online':
      return health.status;
    case 'offline':
      return 'offline';
  }
}

export function App() {
  const {
    needRefresh: [needRefresh],
    offlineReady: [offlineReady],
    updateServiceWorker,
  } = useRegisterSW();

  const [health, setHealth] = createSignal<Health>({ kind: 'checking' });
  const refreshHealth = () => {
    void fetchHealth().then(setHealth);
  };
  onMount(() => {
    refreshHealth();
    window.addEventListener('online', refreshHealth);
    onCleanup(() => window.removeEventListener('online', refreshHealth));
  });

  const sosRequested = new URLSearchParams(window.location.search).get('sos') === '1';

  return (
    <main>
      <h1>VitalWatch</h1>

      <Show when={sosRequested}>
        <section class="alert" role="alert">
          <h2>SOS alerts are not available yet</h2>
          <p>If you are in danger, call your local emergency number now.</p>
        </section>
      </Show>

      <p>
        An offline-first safety and mental-health companion: SOS alerts to your emergency contacts, daily mood
        check-ins, and coping tools.
      </p>
      <p>The full app is under construction.</p>

      <p class="notice">
        <strong>SMS alerts are best effort. VitalWatch does not replace your local emergency number.</strong>
      </p>

      <Show when={needRefresh()}>
        <p>
          <button type="button" onClick={() => void updateServiceWorker(true)}>
            Update available
          </button>
        </p>
      </Show>

      <footer>
        <p role="status">
          Server: <span class={`health-${health().kind}`}>{healthLabel(health())}</span>
          <Show when={offlineReady()}>
            <span> · Ready to work offline</span>
          </Show>
        </p>
      </footer>
    </main>
  );
}
