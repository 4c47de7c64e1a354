/**
 * "Insights": what the user's own records show (mood trend, weekday pattern, tags, coping tools, sleep,
 * questionnaires), worked out on this phone from the synced rows (ADR 0031), so it works offline and says the same
 * on every device. Each insight shows the numbers behind it and "How was this worked out?"; what there is not yet
 * enough data for is listed with the reason. Nothing here is shown to anyone else, and nothing is a risk score or
 * a prediction.
 */
import { createMemo, For, Show } from 'solid-js';
import { workOutInsights } from '@vitalwatch/schema/insights/insights';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';

const dateOnly = (ms: number) => new Date(ms).toLocaleDateString(undefined, { dateStyle: 'medium' });

export default function InsightsScreen() {
  const { device } = useApp();
  const moods = createLiveQuery(() => device.db.mood_entries.toArray(), []);
  const coping = createLiveQuery(() => device.db.coping_tools_usage.toArray(), []);
  const screeners = createLiveQuery(() => device.db.screener_results.toArray(), []);

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
  return (
    <section aria-labelledby="insights-title" class="insights">
      <h2 id="insights-title">Insights</h2>
      <p>
        Worked out on this phone from your own check-ins, coping tools and questionnaires. They show what went
        together, not what caused what, and nobody else sees them.
      </p>
      <For each={worked().insights} fallback={<p>No insights yet: they appear as you add check-ins.</p>}>
        {(insight) => (
          <article class="insight" aria-labelledby={`insight-${insight.key}`}>
            <h3 id={`insight-${insight.key}`}>{insight.title}</h3>
            <p>{insight.body}</p>
            <details>
              <summary>How was this worked out?</summary>
              <p>{insight.method}</p>
              <p>
                {insight.numbers.n} records, {dateOnly(insight.numbers.from)} to{' '}
                {dateOnly(insight.numbers.to)}; {insight.numbers.effect.name}: {insight.numbers.effect.value}.
              </p>
            </details>
          </article>
        )}
      </For>
      <Show when={worked().notYet.length > 0}>
        <h3>Not enough data yet</h3>
        <ul>
          <For each={worked().notYet}>{(item) => <li>{item.reason}</li>}</For>
        </ul>
      </Show>
    </section>
  );
}
