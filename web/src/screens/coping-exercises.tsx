/**
 * The exercises themselves (issue #16 item 2), each given when it started and telling its session when it ended
 * (`onEnd(completed)`). Time is read from Date.now() on a short interval, so the page's clock (and a test's
 * fast-forwarded one) drives them; the sums are in web/src/wellbeing and tested there on a fake clock.
 */
import { createEffect, createSignal, on, onCleanup, Show } from 'solid-js';
import { breathingAt, BREATHING_SESSION_MS, phaseVibration } from '../wellbeing/paced-breathing.ts';
import { urgeWaveAt } from '../wellbeing/urge-wave.ts';

type ExerciseProps = { startedAt: number; onEnd: (completed: boolean) => void };

const TICK_MS = 250;

/** Milliseconds since `startedAt`, refreshed every TICK_MS while the component lives. */
function createElapsed(startedAt: () => number) {
  const [now, setNow] = createSignal(Date.now());
  const timer = window.setInterval(() => setNow(Date.now()), TICK_MS);
  onCleanup(() => window.clearInterval(timer));
  return () => Math.max(0, now() - startedAt());
}

function StopButton(props: { onEnd: (completed: boolean) => void; label?: string }) {
  return (
    <button type="button" class="quiet" onClick={() => props.onEnd(false)}>
      {props.label ?? 'Stop here'}
    </button>
  );
}

export function BreathingExercise(props: ExerciseProps) {
  const elapsed = createElapsed(() => props.startedAt);
  const state = () => breathingAt(elapsed());
  const canVibrate = typeof navigator.vibrate === 'function';
  const [vibrate, setVibrate] = createSignal(false);
  createEffect(
    on(
      () => state().phase,
      (phase) => {
        if (phase === 'done') props.onEnd(true);
        else if (vibrate() && canVibrate) navigator.vibrate(phaseVibration(phase));
      },
    ),
  );
  const minutes = BREATHING_SESSION_MS / 60_000;
  return (
    <div class="exercise breathing">
      <p>Breathe in as the circle grows, out slowly as it shrinks. {minutes} minutes.</p>
      <div class="breath-stage" aria-hidden="true">
        <div class={`breath-circle ${state().phase}`} />
      </div>
      <p class="breath-words" role="status" aria-live="polite">
        {state().phase === 'in' ? 'Breathe in' : 'Breathe out'} · {state().secondsLeft}
      </p>
      <p class="breath-count">Breath {state().breath} of 12</p>
      <Show when={canVibrate}>
        <label class="choice">
          <input type="checkbox" checked={vibrate()} onChange={(e) => setVibrate(e.currentTarget.checked)} />
          Vibrate at each breath
        </label>
      </Show>
      <StopButton onEnd={props.onEnd} />
    </div>
  );
}

const SENSES = [
  { count: 5, what: 'things you can see', hint: 'Look around slowly. Name each one.' },
  { count: 4, what: 'things you can feel', hint: 'Your feet on the floor, your clothes, the air.' },
  { count: 3, what: 'things you can hear', hint: 'Near and far. Traffic, birds, your breath.' },
  { count: 2, what: 'things you can smell', hint: 'Or two smells you like, if nothing is near.' },
  { count: 1, what: 'thing you can taste', hint: 'Or one kind thing you can say to yourself.' },
] as const;

export function GroundingExercise(props: ExerciseProps) {
  const [step, setStep] = createSignal(0);
  const sense = () => SENSES[step()] ?? SENSES[0];
  const last = () => step() === SENSES.length - 1;
  return (
    <div class="exercise grounding">
      <p class="big-count">{sense().count}</p>
      <p class="lead">
        Name {sense().count} {sense().what}.
      </p>
      <p>{sense().hint}</p>
      <button
        type="button"
        class="primary"
        onClick={() => (last() ? props.onEnd(true) : setStep(step() + 1))}
      >
        {last() ? 'Done' : 'Next'}
      </button>
      <StopButton onEnd={props.onEnd} />
    </div>
  );
}

const COLD_SECONDS = 30;

export function ColdWaterExercise(props: ExerciseProps) {
  const [timerStart, setTimerStart] = createSignal<number | null>(null);
  const elapsed = createElapsed(() => timerStart() ?? Date.now());
  const left = () => Math.max(0, COLD_SECONDS - Math.floor(elapsed() / 1000));
  return (
    <div class="exercise cold-water">
      <p>Cold water on your face slows your heart and can calm strong feelings quickly.</p>
      <ol class="steps">
        <li>Fill a bowl or the sink with cold water (ice if you have it), or wet a cloth.</li>
        <li>Hold your breath and put your face in the water, or hold the cloth over your eyes and cheeks.</li>
        <li>Keep it there for up to 30 seconds. Stop sooner if you need to.</li>
      </ol>
      <Show
        when={timerStart() !== null}
        fallback={
          <button type="button" class="primary" onClick={() => setTimerStart(Date.now())}>
            Start 30 seconds
          </button>
        }
      >
        <p class="big-count" role="status">
          {left() > 0 ? left() : 'Done'}
        </p>
      </Show>
      <p class="caution">
        If you have a heart problem or an eating disorder, use cool (not icy) water, or skip this one.
      </p>
      <button type="button" class="primary" onClick={() => props.onEnd(true)}>
        I did it
      </button>
      <StopButton onEnd={props.onEnd} />
    </div>
  );
}

export function UrgeWaveExercise(props: ExerciseProps) {
  const elapsed = createElapsed(() => props.startedAt);
  const state = () => urgeWaveAt(elapsed());
  return (
    <div class="exercise urge-wave">
      <p>An urge is like a wave: it rises, peaks and falls. You can watch it without doing what it says.</p>
      <p class="big-count" role="timer">
        {state().elapsed}
      </p>
      <p class="lead" aria-live="polite">
        {state().prompt}
      </p>
      <button type="button" class="primary" onClick={() => props.onEnd(true)}>
        The wave has passed
      </button>
      <StopButton onEnd={props.onEnd} />
    </div>
  );
}

/** The exercises by tool id, for the session screen. */
export const EXERCISES = {
  paced_breathing: BreathingExercise,
  grounding_54321: GroundingExercise,
  cold_water_tipp: ColdWaterExercise,
  urge_surfing: UrgeWaveExercise,
} as const;
