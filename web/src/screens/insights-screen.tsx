/**
 * "Insights": what the user's own records show (mood trend, weekday pattern, tags, coping tools, sleep,
 * questionnaires), worked out on this phone from the synced rows (ADR 0031), so it works offline and says the same
 * on every device. Each insight shows the numbers behind it and "How was this worked out?"; what there is not yet
 * enough data for is listed with the reason. "Helpful" and "Dismiss" are kept (ai_insights) and synced. Nothing
 * here is shown to anyone else, and nothing is a risk score or a prediction.
 */
import { createMemo, For, Show } from 'solid-js';
import { newId } from '@vitalwatch/schema/ids';
import { workOutInsights, type Insight } from '@vitalwatch/schema/insights/insights';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';

const dateOnly = (ms: number) => new Date(ms).toLocaleDateString(undefined, { dateStyle: 'medium' });

export default function InsightsScreen() {
  const { device } = useApp();
  const moods = createLiveQuery(() => device.db.mood_entries.toArray(), []);
  const coping = createLiveQuery(() => device.db.coping_tools_usage.toArray(), []);
  const screeners = createLiveQuery(() => device.db.screener_results.toArray(), []);
  const feedback = createLiveQuery(() => device.db.ai_insights.toArray(), []);

  const worked = createMemo(() =>
    workOutInsights({
      now: Date.now(),
      moods: moods(),
      coping: coping().map((c) => ({
        tool: c.tool,
        startedAt: c.startedAt,
        distressBefore: c.distressBefore ?? null,
        distressAfter: c.distressAfter ?? null,
      })),
      screeners: screeners(),
      weekdayOf: (at) => new Date(at).getDay(),
    }),
  );
  const feedbackOf = (key: string) => feedback().find((f) => f.key === key);
  const shown = () => worked().insights.filter((i) => feedbackOf(i.key)?.dismissedAt == null);
  const dismissed = () => worked().insights.filter((i) => feedbackOf(i.key)?.dismissedAt != null);

  const rate = async (insight: Insight, change: { helpful?: boolean; dismissed?: boolean }) => {
    const existing = feedbackOf(insight.key);
    await device.mutators.giveInsightFeedback({
      id: existing?.id ?? newId(),
      key: insight.key,
      title: insight.title,
      body: insight.body,
      ...(change.helpful === undefined ? {} : { helpful: change.helpful }),
      ...(change.dismissed === undefined ? {} : { dismissedAt: change.dismissed ? Date.now() : null }),
    });
  };

  return (
    <section aria-labelledby="insights-title" class="insights">
      <h2 id="insights-title">Insights</h2>
      <p>
        Worked out on this phone from your own check-ins, coping tools and questionnaires. They show what went
        together, not what caused what, and nobody else sees them.
      </p>
      <For each={shown()} fallback={<p>No insights yet: they appear as you add check-ins.</p>}>
        {(insight) => (
          <article class="insight" aria-labelledby={`insight-${insight.key}`}>
            <h3 id={`insight-${insight.key}`}>{insight.title}</h3>
            <p>{insight.body}</p>
            <details>
              <summary>How was this worked out?</summary>
              <p>{insight.method}</p>
              <p>
                {insight.numbers.n} records, {dateOnly(insight.numbers.from)} to {dateOnly(insight.numbers.to)};{' '}
                {insight.numbers.effect.name}: {insight.numbers.effect.value}.
              </p>
            </details>
            <p class="row-actions">
              <button
                type="button"
                class="secondary"
                aria-pressed={feedbackOf(insight.key)?.helpful === true}
                onClick={() => void rate(insight, { helpful: true })}
              >
                Helpful
              </button>{' '}
              <button type="button" class="secondary" onClick={() => void rate(insight, { dismissed: true })}>
                Dismiss
              </button>
            </p>
          </article>
        )}
      </For>
      <Show when={worked().notYet.length > 0}>
        <h3>Not enough data yet</h3>
        <ul>
          <For each={worked().notYet}>{(item) => <li>{item.reason}</li>}</For>
        </ul>
      </Show>
      <Show when={dismissed().length > 0}>
        <details>
          <summary>Dismissed ({dismissed().length})</summary>
          <ul>
            <For each={dismissed()}>
              {(insight) => (
                <li>
                  {insight.title}{' '}
                  <button type="button" class="secondary" onClick={() => void rate(insight, { dismissed: false })}>
                    Show again
                  </button>
                </li>
              )}
            </For>
          </ul>
        </details>
      </Show>
    </section>
  );
}
