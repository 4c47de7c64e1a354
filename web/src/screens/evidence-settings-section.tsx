/**
 * Settings section: evidence during an SOS. Both choices are the account's (user_settings, synced by
 * `settings.update@1`), so they need a signed-in account and follow it to every device:
 * - record audio by itself for a set time after an SOS opens (off by default; the evidence panel starts it);
 * - let the contacts alerted for an incident open its recordings and photos from their alert link (off by
 *   default; the server signs short-lived links on the `/a/<token>` page only when this is on).
 */
import { createEffect, createSignal, For, on, Show } from 'solid-js';
import { useApp } from '../ui/app-context.ts';
import { FormMessage, type FormResult } from '../ui/form-parts.tsx';
import { createLiveQuery } from '../ui/live-query.ts';
import { readSession } from '../sync/auth-session.ts';

/** Choices for automatic recording, in seconds (the server allows 0–600). */
export const AUTO_RECORD_CHOICES = [
  { seconds: 0, label: 'Off' },
  { seconds: 30, label: '30 seconds' },
  { seconds: 60, label: '1 minute' },
  { seconds: 120, label: '2 minutes' },
  { seconds: 300, label: '5 minutes' },
] as const;

export function EvidenceSettingsSection() {
  const { device } = useApp();
  const session = createLiveQuery(() => readSession(device.db), null);
  const settings = createLiveQuery(async () => {
    const userId = (await readSession(device.db))?.userId;
    return userId === undefined ? null : ((await device.db.user_settings.get(userId)) ?? null);
  }, null);
  const [autoRecord, setAutoRecord] = createSignal(0);
  const [share, setShare] = createSignal(false);
  const [message, setMessage] = createSignal<FormResult | null>(null);

  // The form starts from the account's values and follows them when another device changes them, unless the
  // user is changing them here.
  let editing = false;
  createEffect(
    on(settings, (row) => {
      if (editing) return;
      setAutoRecord(row?.autoRecordAudioSeconds ?? 0);
      setShare(row?.shareMediaWithContacts ?? false);
    }),
  );

  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    await device.mutators.updateSettings({
      fields: { autoRecordAudioSeconds: autoRecord(), shareMediaWithContacts: share() },
    });
    editing = false;
    setMessage({
      ok: true,
      text: 'Saved on this phone; it reaches your account when there is a connection.',
    });
  };

  return (
    <section aria-labelledby="evidence-settings-title">
      <h3 id="evidence-settings-title">Recordings and photos during an SOS</h3>
      <Show
        when={session() !== null}
        fallback={<p>Sign in to choose automatic recording and sharing with your contacts.</p>}
      >
        <form onSubmit={(event) => void save(event)}>
          <label>
            Record audio automatically after an SOS
            <select
              value={String(autoRecord())}
              onChange={(e) => {
                editing = true;
                setAutoRecord(Number(e.currentTarget.value));
              }}
            >
              <For each={AUTO_RECORD_CHOICES}>
                {(choice) => <option value={String(choice.seconds)}>{choice.label}</option>}
              </For>
            </select>
          </label>
          <p class="hint">
            The phone asks for the microphone the first time. You can stop a recording at any time.
          </p>
          <label>
            <input
              type="checkbox"
              checked={share()}
              onChange={(e) => {
                editing = true;
                setShare(e.currentTarget.checked);
              }}
            />{' '}
            Let the contacts I alert open my recordings and photos from their alert link
          </label>
          <p class="hint">
            Each link works for one incident and opens a file for one hour at a time. Off: only you can open
            them.
          </p>
          <button type="submit">Save</button>
          <FormMessage message={message} />
        </form>
      </Show>
    </section>
  );
}
