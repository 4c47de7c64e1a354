/**
 * "Check-in questionnaires": PHQ-9 (mood) and GAD-7 (anxiety), one question at a time with four big answers, then
 * the score, its band in plain words, and the history with a chart and a trend. A result is saved on the phone
 * first and synced (screener_results). PHQ-9 question 9 answered above "Not at all" opens the support sheet at
 * once for the person answering; it never tells anyone else (SPEC WB41, docs/safety-practice.md).
 */
import { createSignal, For, Match, Show, Switch } from 'solid-js';
import { newId } from '@vitalwatch/schema/ids';
import {
  bandOf,
  SCREENER_ANSWERS,
  SCREENERS,
  scoreScreener,
  screenerTrend,
  type ScreenerDefinition,
  type ScreenerId,
  type ScreenerScore,
} from '@vitalwatch/schema/screeners/screeners';
import { SCREENER_ANSWER_MAX } from '@vitalwatch/schema/screeners/screener-shape';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { formatDateTime } from '../ui/relative-time.ts';
import { TrendChart } from '../ui/trend-chart.tsx';
import { SUPPORT_FROM_QUESTIONNAIRE } from '../wellbeing/support-trigger.ts';

type Step =
  | { kind: 'choose' }
  | { kind: 'ask'; screener: ScreenerDefinition; answers: number[] }
  | { kind: 'result'; screener: ScreenerDefinition; score: ScreenerScore };

export default function ScreenersScreen() {
  const { device, navigate } = useApp();
  const [step, setStep] = createSignal<Step>({ kind: 'choose' });
  const results = createLiveQuery(() => device.db.screener_results.orderBy('completedAt').toArray(), []);
  const resultsOf = (id: ScreenerId) => results().filter((r) => r.screener === id);

  const answer = async (value: number) => {
    const current = step();
    if (current.kind !== 'ask') return;
    const answers = [...current.answers, value];
    if (answers.length < current.screener.items.length) {
      setStep({ ...current, answers });
      return;
    }
    const score = scoreScreener(current.screener, answers);
    // Leave the question first: a second tap on the last answer then finds no question and records nothing twice,
    // and support opens at once rather than after the local write.
    setStep({ kind: 'result', screener: current.screener, score });
    if (score.offerSupport) navigate('support', SUPPORT_FROM_QUESTIONNAIRE);
    await device.mutators.recordScreener({
      id: newId(),
      screener: current.screener.id,
      answers,
      completedAt: Date.now(),
    });
  };

  const back = () => {
    const current = step();
    if (current.kind !== 'ask') return;
    if (current.answers.length === 0) setStep({ kind: 'choose' });
    else setStep({ ...current, answers: current.answers.slice(0, -1) });
  };

  return (
    <section aria-labelledby="screeners-title" class="screeners">
      <h2 id="screeners-title">Check-in questionnaires</h2>
      <Switch>
        <Match when={step().kind === 'choose'}>
          <p>
            Two short questionnaires that doctors use, about the last 2 weeks. Your answers stay on your phone
            and in your own account. They are not a diagnosis, and nobody is told about them.
          </p>
          <For each={Object.values(SCREENERS)}>
            {(screener) => (
              <button
                type="button"
                class="big-choice"
                onClick={() => setStep({ kind: 'ask', screener, answers: [] })}
              >
                {screener.name}: {screener.items.length} questions
              </button>
            )}
          </For>
          <For each={Object.values(SCREENERS)}>
            {(screener) => <ScreenerHistory screener={screener} results={resultsOf(screener.id)} />}
          </For>
        </Match>
        <Match when={step().kind === 'ask' && step()} keyed>
          {(asking) =>
            asking.kind === 'ask' && (
              <div role="group" aria-labelledby="screener-question">
                <p class="hint">
                  {asking.screener.name} · question {asking.answers.length + 1} of{' '}
                  {asking.screener.items.length}
                </p>
                <p>{asking.screener.stem}</p>
                <p id="screener-question" class="question">
                  {asking.screener.items[asking.answers.length]}
                </p>
                <For each={SCREENER_ANSWERS}>
                  {(label, index) => (
                    <button type="button" class="big-choice" onClick={() => void answer(index())}>
                      {label}
                    </button>
                  )}
                </For>
                <button type="button" class="secondary" onClick={back}>
                  Back
                </button>
              </div>
            )
          }
        </Match>
        <Match when={step().kind === 'result' && step()} keyed>
          {(done) =>
            done.kind === 'result' && (
              <div role="status">
                <p class="score">
                  {done.screener.name}: <strong>{done.score.total}</strong> of {done.score.maxTotal} ·{' '}
                  {done.score.band}
                </p>
                <p>
                  This describes the last 2 weeks, not who you are, and it is not a diagnosis. A doctor or
                  counsellor can talk it through with you; you can share it in a report.
                </p>
                <Show when={done.score.offerSupport}>
                  <p>
                    You said you have had thoughts of being better off dead or of hurting yourself. You do not
                    have to carry that alone.{' '}
                    <button type="button" onClick={() => navigate('support', SUPPORT_FROM_QUESTIONNAIRE)}>
                      Open support
                    </button>
                  </p>
                </Show>
                <button type="button" class="secondary" onClick={() => setStep({ kind: 'choose' })}>
                  Done
                </button>
              </div>
            )
          }
        </Match>
      </Switch>
    </section>
  );
}

function ScreenerHistory(props: {
  screener: ScreenerDefinition;
  results: readonly { id: string; total: number; completedAt: number }[];
}) {
  const trend = () =>
    screenerTrend(
      props.screener,
      props.results.map((r) => r.total),
    );
  return (
    <Show when={props.results.length > 0}>
      <h3>{props.screener.name}: your results</h3>
      <Show when={trend()}>
        {(t) => (
          <p>
            {t().direction === 'about the same'
              ? `About the same: ${t().from} then ${t().to} over ${t().n} results`
              : `${t().direction === 'better' ? 'Fewer' : 'More'} symptoms: ${t().from} then ${t().to} over ${t().n} results`}{' '}
            (a change of {props.screener.meaningfulChange} points or more counts as a real change).
          </p>
        )}
      </Show>
      <TrendChart
        caption={`${props.screener.name} scores`}
        points={props.results.map((r) => ({ at: r.completedAt, value: r.total }))}
        scale={{
          min: 0,
          max: props.screener.items.length * SCREENER_ANSWER_MAX,
          ticks: props.screener.bands.map((b) => b.from),
        }}
        columns={['Date', 'Score']}
        formatAt={formatDateTime}
        formatValue={(v) => String(v)}
      />
      <ul class="history">
        <For each={[...props.results].reverse()}>
          {(r) => (
            <li>
              <strong>
                {r.total} of {props.screener.items.length * SCREENER_ANSWER_MAX} ·{' '}
                {bandOf(props.screener, r.total)}
              </strong>{' '}
              · {formatDateTime(r.completedAt)}
            </li>
          )}
        </For>
      </ul>
    </Show>
  );
}
