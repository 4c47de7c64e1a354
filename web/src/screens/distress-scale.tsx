/**
 * A 0–10 distress rating as eleven big buttons (SPEC WB21): one tap answers. "Skip" is always there: a rating is
 * never required and never guessed.
 */
import { For } from 'solid-js';
import { DISTRESS_MAX } from '@vitalwatch/schema/protocol/common';

const STEPS = Array.from({ length: DISTRESS_MAX + 1 }, (_, i) => i);

export function DistressScale(props: {
  legend: string;
  value: number | null;
  onChoose: (value: number) => void;
}) {
  return (
    <fieldset class="scale">
      <legend>{props.legend}</legend>
      <p class="scale-ends">0 = calm · {DISTRESS_MAX} = the worst it gets</p>
      <div class="scale-buttons">
        <For each={STEPS}>
          {(step) => (
            <button
              type="button"
              aria-pressed={props.value === step}
              aria-label={`Distress ${step} of ${DISTRESS_MAX}`}
              onClick={() => props.onChoose(step)}
            >
              {step}
            </button>
          )}
        </For>
      </div>
    </fieldset>
  );
}
