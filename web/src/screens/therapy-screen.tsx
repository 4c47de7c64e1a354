/**
 * "Therapy sessions": a log of sessions (date, length, kind, mode, provider, notes, homework, mood before and
 * after, next appointment), kept on the phone and synced (therapy_sessions). The next appointment is reminded in
 * the app (therapy-reminder.ts) on the home screen's sessions link and here.
 */
import { createSignal, For, Show } from 'solid-js';
import { newId } from '@vitalwatch/schema/ids';
import type { TherapyRow } from '@vitalwatch/schema/protocol/rows';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { formatDateTime } from '../ui/relative-time.ts';
import { appointmentToRemind } from '../wellbeing/therapy-reminder.ts';
import { MOOD_SCALE } from './mood-form.tsx';

const KINDS = [
  ['therapy', 'Therapy'],
  ['counselling', 'Counselling'],
  ['psychiatry', 'Psychiatry'],
  ['peer_support', 'Peer support'],
  ['group', 'Group'],
  ['crisis_line', 'Crisis line call'],
] as const;
const MODES = [
  ['in_person', 'In person'],
  ['video', 'Video'],
  ['phone', 'Phone'],
  ['chat', 'Chat'],
] as const;

type Draft = {
  occurredAt: string;
  durationMinutes: string;
  kind: TherapyRow['kind'];
  mode: TherapyRow['mode'];
  providerName: string;
  notes: string;
  homework: string;
  moodBefore: number | null;
  moodAfter: number | null;
  nextSessionAt: string;
};

/** `datetime-local` wants local time without a zone. */
function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

const emptyDraft = (): Draft => ({
  occurredAt: toLocalInput(Date.now()),
  durationMinutes: '50',
  kind: 'therapy',
  mode: 'in_person',
  providerName: '',
  notes: '',
  homework: '',
  moodBefore: null,
  moodAfter: null,
  nextSessionAt: '',
});

const textOrNull = (value: string) => (value.trim() === '' ? null : value.trim());

export default function TherapyScreen() {
  const { device } = useApp();
  const sessions = createLiveQuery(
    () => device.db.therapy_sessions.orderBy('occurredAt').reverse().toArray(),
    [],
  );
  const [draft, setDraft] = createSignal<Draft>(emptyDraft());
  const [problem, setProblem] = createSignal<string | null>(null);
  const [saved, setSaved] = createSignal<string | null>(null);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft({ ...draft(), [key]: value });
  const upcoming = () => appointmentToRemind(sessions(), Date.now());

  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    const d = draft();
    const occurredAt = Date.parse(d.occurredAt);
    const duration = d.durationMinutes.trim() === '' ? null : Number(d.durationMinutes);
    const next = d.nextSessionAt === '' ? null : Date.parse(d.nextSessionAt);
    if (Number.isNaN(occurredAt)) return setProblem('Give the date and time of the session.');
    if (duration !== null && !(Number.isInteger(duration) && duration >= 0 && duration <= 1440))
      return setProblem('The length is in whole minutes, 0 to 1440.');
    if (next !== null && Number.isNaN(next)) return setProblem('Give the next appointment as a date and time.');
    setProblem(null);
    await device.mutators.upsertTherapySession({
      id: newId(),
      fields: {
        occurredAt,
        durationMinutes: duration,
        kind: d.kind,
        mode: d.mode,
        providerName: textOrNull(d.providerName),
        notes: textOrNull(d.notes),
        homework: textOrNull(d.homework),
        moodBefore: d.moodBefore,
        moodAfter: d.moodAfter,
        nextSessionAt: next,
      },
    });
    setDraft(emptyDraft());
    setSaved('Session saved.');
  };

  const moodPicker = (key: 'moodBefore' | 'moodAfter', legend: string) => (
    <fieldset>
      <legend>{legend}</legend>
      <For each={MOOD_SCALE}>
        {(step) => (
          <label class="choice">
            <input type="radio" name={key} checked={draft()[key] === step.value} onChange={() => set(key, step.value)} />
            {step.value} · {step.label}
          </label>
        )}
      </For>
    </fieldset>
  );

  return (
    <section aria-labelledby="therapy-title">
      <h2 id="therapy-title">Therapy sessions</h2>
      <Show when={upcoming()}>
        {(next) => (
          <p class="notice" role="status">
            Next appointment: {formatDateTime(next().nextSessionAt)}
            {next().providerName === null ? '' : ` with ${next().providerName}`}.
          </p>
        )}
      </Show>
      <details open={sessions().length === 0}>
        <summary>Add a session</summary>
        <form onSubmit={(event) => void save(event)}>
          <label>
            When
            <input type="datetime-local" value={draft().occurredAt} onInput={(e) => set('occurredAt', e.currentTarget.value)} />
          </label>
          <label>
            Length (minutes)
            <input
              type="number"
              inputmode="numeric"
              min="0"
              max="1440"
              value={draft().durationMinutes}
              onInput={(e) => set('durationMinutes', e.currentTarget.value)}
            />
          </label>
          <label>
            Kind
            <select value={draft().kind} onChange={(e) => set('kind', e.currentTarget.value as Draft['kind'])}>
              <For each={KINDS}>{([value, label]) => <option value={value}>{label}</option>}</For>
            </select>
          </label>
          <label>
            How
            <select value={draft().mode ?? ''} onChange={(e) => set('mode', e.currentTarget.value as Draft['mode'])}>
              <For each={MODES}>{([value, label]) => <option value={value}>{label}</option>}</For>
            </select>
          </label>
          <label>
            With (optional)
            <input value={draft().providerName} maxLength={200} onInput={(e) => set('providerName', e.currentTarget.value)} />
          </label>
          {moodPicker('moodBefore', 'Mood before (optional)')}
          {moodPicker('moodAfter', 'Mood after (optional)')}
          <label>
            Notes (optional)
            <textarea maxLength={10_000} value={draft().notes} onInput={(e) => set('notes', e.currentTarget.value)} />
          </label>
          <label>
            Homework (optional)
            <textarea maxLength={2_000} value={draft().homework} onInput={(e) => set('homework', e.currentTarget.value)} />
          </label>
          <label>
            Next appointment (optional)
            <input
              type="datetime-local"
              value={draft().nextSessionAt}
              onInput={(e) => set('nextSessionAt', e.currentTarget.value)}
            />
          </label>
          <Show when={problem()}>{(text) => <p class="warning" role="alert">{text()}</p>}</Show>
          <button type="submit">Save session</button>
        </form>
      </details>
      <Show when={saved()}>{(text) => <p role="status">{text()}</p>}</Show>
      <ul class="history">
        <For each={sessions()} fallback={<li>No sessions yet.</li>}>
          {(s) => (
            <li>
              <strong>{KINDS.find(([k]) => k === s.kind)?.[1]}</strong> · {formatDateTime(s.occurredAt)}
              {s.durationMinutes === null ? '' : ` · ${s.durationMinutes} min`}
              {s.providerName === null ? '' : ` · ${s.providerName}`}
              <Show when={s.moodBefore !== null || s.moodAfter !== null}>
                <p>
                  Mood {s.moodBefore ?? '?'} → {s.moodAfter ?? '?'}
                </p>
              </Show>
              <Show when={s.notes}>{(text) => <p>{text()}</p>}</Show>
              <Show when={s.homework}>{(text) => <p>Homework: {text()}</p>}</Show>
              <Show when={s.nextSessionAt}>{(at) => <p>Next: {formatDateTime(at())}</p>}</Show>
            </li>
          )}
        </For>
      </ul>
    </section>
  );
}
