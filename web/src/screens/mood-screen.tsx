/**
 * Mood check-in (mood_entries: mood 1–5, optional energy, anxiety, sleep, feelings and a note) and its history:
 * a chart of the last 30 days and every entry, each of which can be edited or deleted (on every device: edits
 * sync field by field, a delete as a tombstone). A check-in at the lowest score opens the support sheet at once
 * (SPEC WB20); it alerts nobody.
 */
import { createSignal, For, Show } from 'solid-js';
import { newId } from '@vitalwatch/schema/ids';
import type { MoodRow } from '@vitalwatch/schema/protocol/rows';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { formatDateTime } from '../ui/relative-time.ts';
import { TrendChart } from '../ui/trend-chart.tsx';
import { moodFieldsOf } from '../wellbeing/mood-edit.ts';
import { checkInOpensSupport, SUPPORT_FROM_CHECK_IN } from '../wellbeing/support-trigger.ts';
import { MOOD_SCALE, MoodForm } from './mood-form.tsx';

const DAY = 86_400_000;

export default function MoodScreen() {
  const { device, navigate } = useApp();
  const entries = createLiveQuery(
    () => device.db.mood_entries.orderBy('recordedAt').reverse().limit(200).toArray(),
    [],
  );
  const [message, setMessage] = createSignal<string | null>(null);
  const [editing, setEditing] = createSignal<string | null>(null);
  const [confirmDelete, setConfirmDelete] = createSignal<string | null>(null);
  const lastMonth = () => {
    const since = Date.now() - 30 * DAY;
    return entries()
      .filter((e) => e.recordedAt >= since)
      .map((e) => ({ at: e.recordedAt, value: e.mood }));
  };

  const remove = async (entry: MoodRow) => {
    await device.mutators.deleteMood({ id: entry.id });
    setConfirmDelete(null);
    setMessage(`Deleted the check-in of ${formatDateTime(entry.recordedAt)}.`);
  };

  return (
    <section aria-labelledby="mood-title">
      <h2 id="mood-title">Mood check-in</h2>
      <MoodForm
        initial={null}
        submitLabel="Save check-in"
        onSave={async (fields) => {
          await device.mutators.upsertMood({ id: newId(), recordedAt: Date.now(), fields });
          if (fields.mood !== undefined && checkInOpensSupport(fields.mood)) {
            navigate('support', SUPPORT_FROM_CHECK_IN);
            return;
          }
          setMessage('Saved.');
        }}
      />
      <Show when={message()}>{(text) => <p role="status">{text()}</p>}</Show>
      <h3>History</h3>
      <Show when={lastMonth().length > 0}>
        <TrendChart
          caption="Mood, last 30 days (1 very low … 5 very good)"
          points={lastMonth()}
          scale={{ min: 1, max: 5, ticks: [1, 2, 3, 4, 5] }}
          columns={['When', 'Mood']}
          formatAt={formatDateTime}
          formatValue={(v) => `${v} · ${MOOD_SCALE[v - 1]?.label ?? ''}`}
        />
      </Show>
      <ul class="history">
        <For each={entries()} fallback={<li>No check-ins yet.</li>}>
          {(entry) => (
            <li>
              <Show
                when={editing() === entry.id}
                fallback={
                  <>
                    <strong>
                      {entry.mood} · {MOOD_SCALE[entry.mood - 1]?.label}
                    </strong>{' '}
                    {formatDateTime(entry.recordedAt)}
                    {entry.emotions.length > 0 ? ` · ${entry.emotions.join(', ')}` : ''}
                    <Show when={entry.energy !== null || entry.anxiety !== null || entry.sleepHours !== null}>
                      <p>
                        {[
                          entry.energy !== null ? `energy ${entry.energy}/5` : null,
                          entry.anxiety !== null ? `anxiety ${entry.anxiety}/5` : null,
                          entry.sleepHours !== null ? `${entry.sleepHours} h sleep` : null,
                        ]
                          .filter((part) => part !== null)
                          .join(' · ')}
                      </p>
                    </Show>
                    <Show when={entry.note}>{(text) => <p>{text()}</p>}</Show>
                    <Show
                      when={confirmDelete() === entry.id}
                      fallback={
                        <p class="row-actions">
                          <button type="button" class="secondary" onClick={() => setEditing(entry.id)}>
                            Edit
                          </button>{' '}
                          <button type="button" class="secondary" onClick={() => setConfirmDelete(entry.id)}>
                            Delete
                          </button>
                        </p>
                      }
                    >
                      <p role="alert">
                        Delete this check-in from all your devices?{' '}
                        <button type="button" onClick={() => void remove(entry)}>
                          Delete
                        </button>{' '}
                        <button type="button" class="secondary" onClick={() => setConfirmDelete(null)}>
                          Keep it
                        </button>
                      </p>
                    </Show>
                  </>
                }
              >
                <MoodForm
                  initial={moodFieldsOf(entry)}
                  submitLabel="Save changes"
                  onCancel={() => setEditing(null)}
                  onSave={async (fields) => {
                    await device.mutators.upsertMood({ id: entry.id, recordedAt: entry.recordedAt, fields });
                    setEditing(null);
                    setMessage('Changes saved.');
                  }}
                />
              </Show>
            </li>
          )}
        </For>
      </ul>
    </section>
  );
}
