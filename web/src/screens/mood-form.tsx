/**
 * The mood check-in form, for a new check-in and for editing one: how you feel (1–5), then optional energy,
 * anxiety, hours of sleep, feelings and a note. Saving goes through `moodChanges` (only changed fields on an edit).
 */
import { createSignal, For, Show } from 'solid-js';
import { EMPTY_MOOD, moodChanges, type MoodFields, type MoodUpsertFields } from '../wellbeing/mood-edit.ts';

export const MOOD_SCALE = [
  { value: 1, label: 'Very low' },
  { value: 2, label: 'Low' },
  { value: 3, label: 'Okay' },
  { value: 4, label: 'Good' },
  { value: 5, label: 'Very good' },
] as const;

/** Words for 1 … 5 of the optional scales (mood_entries.energy, .anxiety). */
const LEVELS = {
  energy: ['Very low', 'Low', 'Some', 'High', 'Very high'],
  anxiety: ['None', 'A little', 'Some', 'A lot', 'Extreme'],
} as const;

const FEELINGS = ['calm', 'anxious', 'sad', 'angry', 'tired', 'lonely', 'hopeful', 'grateful', 'stressed'];

export function MoodForm(props: {
  /** The entry being edited, or null for a new check-in. */
  initial: MoodFields | null;
  submitLabel: string;
  onSave: (fields: MoodUpsertFields) => Promise<void>;
  onCancel?: () => void;
}) {
  const [form, setForm] = createSignal<MoodFields>(props.initial ?? EMPTY_MOOD);
  const [problem, setProblem] = createSignal<string | null>(null);
  const set = <K extends keyof MoodFields>(key: K, value: MoodFields[K]) =>
    setForm({ ...form(), [key]: value });
  const toggle = (feeling: string) => {
    const now = form().emotions;
    set('emotions', now.includes(feeling) ? now.filter((f) => f !== feeling) : [...now, feeling]);
  };

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const changes = moodChanges(props.initial, form());
    if (changes === null) {
      props.onCancel?.();
      return;
    }
    if ('error' in changes) {
      setProblem(changes.error);
      return;
    }
    setProblem(null);
    await props.onSave(changes.fields);
    if (props.initial === null) setForm(EMPTY_MOOD);
  };

  const level = (key: 'energy' | 'anxiety', legend: string) => (
    <fieldset>
      <legend>{legend}</legend>
      <For each={LEVELS[key]}>
        {(label, index) => (
          <label class="choice">
            <input
              type="radio"
              name={`${key}-${props.initial === null ? 'new' : 'edit'}`}
              checked={form()[key] === index() + 1}
              onChange={() => set(key, index() + 1)}
            />
            {label}
          </label>
        )}
      </For>
      <Show when={form()[key] !== null}>
        <button type="button" class="secondary" onClick={() => set(key, null)}>
          Clear
        </button>
      </Show>
    </fieldset>
  );

  return (
    <form onSubmit={(event) => void submit(event)}>
      <fieldset>
        <legend>How do you feel right now?</legend>
        <For each={MOOD_SCALE}>
          {(step) => (
            <label class="choice">
              <input
                type="radio"
                name={`mood-${props.initial === null ? 'new' : 'edit'}`}
                value={step.value}
                checked={form().mood === step.value}
                onChange={() => set('mood', step.value)}
              />
              {step.value} · {step.label}
            </label>
          )}
        </For>
      </fieldset>
      <details
        open={
          props.initial !== null &&
          (props.initial.energy !== null ||
            props.initial.anxiety !== null ||
            props.initial.sleepHours !== null)
        }
      >
        <summary>Energy, anxiety and sleep (optional)</summary>
        {level('energy', 'Energy')}
        {level('anxiety', 'Anxiety')}
        <label>
          Hours of sleep last night
          <input
            type="number"
            inputmode="decimal"
            min="0"
            max="24"
            step="0.5"
            value={form().sleepHours ?? ''}
            onInput={(e) =>
              set('sleepHours', e.currentTarget.value === '' ? null : Number(e.currentTarget.value))
            }
          />
        </label>
      </details>
      <fieldset>
        <legend>Feelings (optional)</legend>
        <For each={FEELINGS}>
          {(feeling) => (
            <label class="choice">
              <input
                type="checkbox"
                checked={form().emotions.includes(feeling)}
                onChange={() => toggle(feeling)}
              />
              {feeling}
            </label>
          )}
        </For>
      </fieldset>
      <label>
        Note (optional)
        <textarea
          maxLength={10_000}
          value={form().note}
          onInput={(e) => set('note', e.currentTarget.value)}
        />
      </label>
      <Show when={problem()}>
        {(text) => (
          <p class="warning" role="alert">
            {text()}
          </p>
        )}
      </Show>
      <button type="submit">{props.submitLabel}</button>
      <Show when={props.onCancel}>
        {(cancel) => (
          <button type="button" class="secondary" onClick={() => cancel()()}>
            Cancel
          </button>
        )}
      </Show>
    </form>
  );
}
