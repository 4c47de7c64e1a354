/**
 * An alert for this user as someone's emergency contact, shown on top of whatever screen is open (SPEC AL32,
 * SO30): the realtime event from `GET /sync/events` (poke-stream.ts `onAlert`) lands here. A lazy chunk: the
 * first visit never loads it, and the entry bundle only holds the `import()` that fetches it.
 *
 * - One card per incident, replaced by that incident's next message (as the notification's `tag` does), newest
 *   first. An alert or escalation is urgent: a red card, an alarm (Web Audio beeps, at most `ALARM_MS`) and a
 *   vibration until "Stop alarm" or dismissal; a location update or all-clear is a quiet card.
 * - The card offers the alert page (`/a/<token>`: "I'm on my way", location) and the emergency number prompt.
 * - Only once the card is on a visible screen (the page is visible and a frame was painted with it) does the app
 *   post the message's receipt (report-receipt.ts), which makes the ledger say `shown`; a hidden tab reports when
 *   it becomes visible, never before. A browser that blocks the sound still shows the card, says the sound is
 *   off, and starts it at the first tap.
 */
import { createSignal, For, Show } from 'solid-js';
import { render } from 'solid-js/web';
import type * as z from 'zod/mini';
import { AlertPush } from '@vitalwatch/schema/protocol/alert-push';
import { AlertReceipt } from '@vitalwatch/schema/protocol/alert-receipt';
import { reportReceipt } from '../sync/report-receipt.ts';
import './incoming-alert.css';

const URGENT_KINDS = new Set(['alert', 'escalation']);
/** The alarm stops by itself after this long; the card stays. */
const ALARM_MS = 60_000;

type IncomingAlert = z.infer<typeof AlertPush> & { key: number; urgent: boolean };
type SoundState = 'playing' | 'blocked' | 'off';

const [alerts, setAlerts] = createSignal<IncomingAlert[]>([]);
const [sound, setSound] = createSignal<SoundState>('off');
let mounted = false;
let nextKey = 0;

function mount(): void {
  if (mounted) return;
  mounted = true;
  const host = document.createElement('div');
  document.body.append(host);
  render(() => <IncomingAlerts />, host);
}

/** Shows one `alert` event's message; anything the AlertPush schema refuses is ignored, like a bad poke. */
export function showIncomingAlert(message: unknown): void {
  const parsed = AlertPush.safeParse(message);
  if (!parsed.success) return;
  const alert = { ...parsed.data, key: nextKey++, urgent: URGENT_KINDS.has(parsed.data.kind) };
  mount();
  setAlerts((shown) => [alert, ...shown.filter((a) => a.incidentId !== alert.incidentId)]);
  if (alert.urgent) startAlarm();
  else if (!alerts().some((a) => a.urgent)) stopAlarm();
  const receipt = AlertReceipt.safeParse({ incidentId: alert.incidentId, receipt: alert.receipt });
  if (receipt.success) whenOnScreen(() => void report(receipt.data));
}

/** Runs `shown` after a frame painted on a visible page (frames do not run in a hidden tab). */
function whenOnScreen(shown: () => void): void {
  const painted = () => requestAnimationFrame(() => requestAnimationFrame(shown));
  if (document.visibilityState === 'visible') return void painted();
  const onVisible = () => {
    if (document.visibilityState !== 'visible') return;
    document.removeEventListener('visibilitychange', onVisible);
    painted();
  };
  document.addEventListener('visibilitychange', onVisible);
}

async function report(receipt: AlertReceipt): Promise<void> {
  const outcome = await reportReceipt(
    {
      origin: location.origin,
      fetch: (input, init) => fetch(input, init),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
    receipt,
  );
  // Still no link after a minute of tries: again when the browser says it is back online.
  if (outcome === 'retry') window.addEventListener('online', () => void report(receipt), { once: true });
}

// --- the alarm ------------------------------------------------------------------------------------------------
let audio: AudioContext | null = null;
let beeper: ReturnType<typeof setInterval> | null = null;
let alarmEnds: ReturnType<typeof setTimeout> | null = null;

function beep(context: AudioContext): void {
  for (const offset of [0, 0.35, 0.7]) {
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.type = 'square';
    tone.frequency.value = 880;
    gain.gain.value = 0.25;
    tone.connect(gain).connect(context.destination);
    tone.start(context.currentTime + offset);
    tone.stop(context.currentTime + offset + 0.25);
  }
}

function startAlarm(): void {
  navigator.vibrate?.([400, 150, 400, 150, 400]);
  if (alarmEnds !== null) clearTimeout(alarmEnds);
  alarmEnds = setTimeout(stopAlarm, ALARM_MS);
  if (beeper !== null) return;
  try {
    audio ??= new AudioContext();
  } catch {
    setSound('blocked');
    return;
  }
  const context = audio;
  const play = () => {
    if (context.state !== 'running') {
      setSound('blocked');
      return;
    }
    setSound('playing');
    beep(context);
    beeper ??= setInterval(() => beep(context), 2_000);
  };
  void context.resume().then(play, play);
  // Without a user gesture yet, the browser keeps the context suspended: the first tap anywhere starts it.
  if (context.state !== 'running') {
    document.addEventListener(
      'pointerdown',
      () => {
        if (alerts().some((a) => a.urgent) && beeper === null) void context.resume().then(play, play);
      },
      { once: true, capture: true },
    );
  }
}

function stopAlarm(): void {
  if (beeper !== null) clearInterval(beeper);
  if (alarmEnds !== null) clearTimeout(alarmEnds);
  beeper = null;
  alarmEnds = null;
  navigator.vibrate?.(0);
  setSound('off');
}

/** The alert page's address if it is a web page (never a `javascript:` or other scheme). */
function pageLink(url: string | null): string | null {
  if (url === null || url === '') return null;
  try {
    const parsed = new URL(url, location.origin);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

function dismiss(incidentId: string): void {
  setAlerts((shown) => shown.filter((a) => a.incidentId !== incidentId));
  if (!alerts().some((a) => a.urgent)) stopAlarm();
}

function IncomingAlerts() {
  return (
    <div class="incoming-alerts" data-sound={sound()}>
      <For each={alerts()}>
        {(alert) => (
          <section
            class={`incoming-alert ${alert.urgent ? 'urgent' : 'calm'}`}
            role={alert.urgent ? 'alertdialog' : 'status'}
            aria-labelledby={`incoming-alert-${alert.key}`}
          >
            <h2 id={`incoming-alert-${alert.key}`}>{alert.title}</h2>
            <p>{alert.body}</p>
            <Show when={alert.urgent}>
              <p>
                <strong>If they may be in danger, call the local emergency number.</strong>
              </p>
              <Show when={sound() === 'blocked'}>
                <p>The alarm sound is off: this browser has not allowed it yet. Tap here to turn it on.</p>
              </Show>
            </Show>
            <div class="actions">
              <Show when={pageLink(alert.url)}>
                {(href) => (
                  <a class="big-link" href={href()}>
                    {alert.urgent ? 'Open the alert: answer, see the location' : 'Open the alert'}
                  </a>
                )}
              </Show>
              <Show when={alert.urgent && sound() === 'playing'}>
                <button type="button" onClick={stopAlarm}>
                  Stop alarm
                </button>
              </Show>
              <button type="button" onClick={() => dismiss(alert.incidentId)}>
                Close
              </button>
            </div>
          </section>
        )}
      </For>
    </div>
  );
}
