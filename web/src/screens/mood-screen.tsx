/**
 * Daily mood check-in (mood_entries: mood 1–5, optional note and tags) and its history. A check-in at the lowest
 * score opens the support sheet at once (SPEC WB20); it alerts nobody.
 */
import { createSignal, For, Show } from 'solid-js';
import { newId } from '@vitalwatch/schema/ids';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { formatDateTime } from '../ui/relative-time.ts';
import { checkInOpensSupport, SUPPORT_FROM_CHECK_IN } from '../wellbeing/support-trigger.ts';

const SCALE = [
  { value: 1, label: 'Very low' },
  { value: 2, label: 'Low' },
  { value: 3, label: 'Okay' },
  { value: 4, label: 'Good' },
  { value: 5, label: 'Very good' },
] as const;

const TAGS = ['calm', 'anxious', 'sad', 'angry', 'tired', 'lonely', 'hopeful', 'grateful', 'stressed'];

export default function MoodScreen() {
  const { device, navigate } = useApp();
  const entries = createLiveQuery(
    () => device.db.mood_entries.orderBy('recordedAt').reverse().limit(60).toArray(),
    [],
  );
  const [mood, setMood] = createSignal<number | null>(null);
  const [note, setNote] = createSignal('');
  const [tags, setTags] = createSignal<string[]>([]);
  const [message, setMessage] = createSignal<string | null>(null);

  const toggle = (tag: string) =>
    setTags(tags().includes(tag) ? tags().filter((t) => t !== tag) : [...tags(), tag]);

  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    const score = mood();
    if (score === null) {
      setMessage('Choose how you feel first.');
      return;
    }
    await device.mutators.upsertMood({
      id: newId(),
      recordedAt: Date.now(),
      fields: { mood: score, emotions: tags(), note: note().trim() === '' ? null : note().trim() },
    });
    setMood(null);
    setNote('');
    setTags([]);
    if (checkInOpensSupport(score)) {
      navigate('support', SUPPORT_FROM_CHECK_IN);
      return;
    }
    setMessage('Saved.');
  };

  return (
    <section aria-labelledby="mood-title">
      <h2 id="mood-title">Mood check-in</h2>
      <form onSubmit={(event) => void save(event)}>
        <fieldset>
          <legend>How do you feel right now?</legend>
          <For each={SCALE}>
            {(step) => (
              <label class="choice">
                <input
                  type="radio"
                  name="mood"
                  value={step.value}
                  checked={mood() === step.value}
                  onChange={() => setMood(step.value)}
                />
                {step.value} · {step.label}
              </label>
            )}
          </For>
        </fieldset>
        <fieldset>
          <legend>Tags (optional)</legend>
          <For each={TAGS}>
            {(tag) => (
              <label class="choice">
                <input type="checkbox" checked={tags().includes(tag)} onChange={() => toggle(tag)} />
                {tag}
              </label>
            )}
          </For>
        </fieldset>
        <label>
          Note (optional)
          <textarea maxLength={10_000} value={note()} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
        <button type="submit">Save check-in</button>
        <Show when={message()}>{(text) => <p role="status">{text()}</p>}</Show>
      </form>
      <h3>History</h3>
      <ul class="history">
        <For each={entries()} fallback={<li>No check-ins yet.</li>}>
          {(entry) => (
            <li>
              <strong>
                {entry.mood} · {SCALE[entry.mood - 1]?.label}
              </strong>{' '}
              {formatDateTime(entry.recordedAt)}
              {entry.emotions.length > 0 ? ` · ${entry.emotions.join(', ')}` : ''}
              <Show when={entry.note}>{(text) => <p>{text()}</p>}</Show>
            </li>
          )}
        </For>
      </ul>
    </section>
  );
}
