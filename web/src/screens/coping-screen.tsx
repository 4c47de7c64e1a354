/**
 * Coping tools (issue #16 item 2): the list, the ones that helped this user most first (SPEC WB22), and one use of
 * a tool: distress before (0–10, may be skipped), the exercise, distress after and how much it helped. Each use is
 * logged once through the `coping.log@1` mutator (SPEC WB23), when it is saved or, if the user leaves mid-way, when
 * they leave. Nothing here is sent to or shown to anyone else.
 */
import { createSignal, For, onCleanup, Show, untrack } from 'solid-js';
import { newId } from '@vitalwatch/schema/ids';
import { useApp } from '../ui/app-context.ts';
import { createLiveQuery } from '../ui/live-query.ts';
import { copingLogArgs, type CopingUse } from '../wellbeing/coping-log.ts';
import { COPING_TOOLS, copingTool, isCopingToolId, type CopingToolId } from '../wellbeing/coping-tools.ts';
import { MIN_RATED_USES, orderCopingTools } from '../wellbeing/order-coping-tools.ts';
import { CopingToolLinks } from './coping-tool-links.tsx';
import { DistressScale } from './distress-scale.tsx';
import { EXERCISES } from './coping-exercises.tsx';
import './wellbeing.css';

export default function CopingScreen(props: { tool: string | null }) {
  const tool = () => (isCopingToolId(props.tool) ? props.tool : null);
  return (
    <Show when={tool()} keyed fallback={<CopingList />}>
      {(id) => <CopingSession tool={id} />}
    </Show>
  );
}

function CopingList() {
  const { device } = useApp();
  const uses = createLiveQuery(() => device.db.coping_tools_usage.toArray(), []);
  return (
    <section class="wellbeing" aria-labelledby="coping-title">
      <h2 id="coping-title">Coping tools</h2>
      <p>Pick one. They all work without internet.</p>
      <CopingToolLinks tools={orderCopingTools(COPING_TOOLS, uses())} label="Coping tools" />
      <p class="small">
        The tools that lowered your distress most move to the top, once you have rated a tool before and after{' '}
        {MIN_RATED_USES} times. Your ratings only order this list; they alert no one.
      </p>
      <SupportNowLink />
    </section>
  );
}

type Step = 'before' | 'doing' | 'after' | 'saved';

const HELPFULNESS = ['Not at all', 'A little', 'Some', 'Quite a lot', 'A lot'] as const;

function CopingSession(props: { tool: CopingToolId }) {
  const { device } = useApp();
  const tool = copingTool(props.tool);
  const [step, setStep] = createSignal<Step>('before');
  const [before, setBefore] = createSignal<number | null>(null);
  const [after, setAfter] = createSignal<number | null>(null);
  const [helpfulness, setHelpfulness] = createSignal<number | null>(null);
  const [error, setError] = createSignal<string | null>(null);
  const id = newId();
  let startedAt = 0;
  let endedAt: number | null = null;
  let completed = false;
  let logged = false;

  const start = (distress: number | null) => {
    setBefore(distress);
    startedAt = Date.now();
    setStep('doing');
  };
  const end = (done: boolean) => {
    if (step() !== 'doing') return;
    endedAt = Date.now();
    completed = done;
    setStep('after');
  };
  const use = (): CopingUse => ({
    id,
    tool: props.tool,
    startedAt,
    endedAt,
    completed,
    distressBefore: before(),
    distressAfter: after(),
    helpfulness: helpfulness(),
  });
  const log = async () => {
    if (logged) return;
    logged = true;
    await device.mutators.logCopingTool(copingLogArgs(use(), Date.now()));
  };
  const save = async () => {
    try {
      await log();
      setStep('saved');
    } catch (e) {
      logged = false;
      setError(
        `Could not save this: ${e instanceof Error ? e.message : String(e)}. Your answers are still here.`,
      );
    }
  };
  // Left mid-way (another screen, Home): the use still counts, with what the user gave so far.
  onCleanup(() => {
    if (step() === 'doing' || step() === 'after') void log().catch(() => undefined);
  });

  return (
    <section class="wellbeing session" aria-labelledby="session-title">
      <h2 id="session-title">{tool.name}</h2>
      <Show when={step() === 'before'}>
        <DistressScale
          legend="First: how strong is your distress right now?"
          value={before()}
          onChoose={start}
        />
        <button type="button" class="quiet" onClick={() => start(null)}>
          Skip and start
        </button>
      </Show>
      <Show when={step() === 'doing'}>{untrack(() => EXERCISES[props.tool]({ startedAt, onEnd: end }))}</Show>
      <Show when={step() === 'after'}>
        <p>{completed ? 'Well done.' : 'That is fine. Any time spent on this counts.'}</p>
        <DistressScale legend="How strong is your distress now?" value={after()} onChoose={setAfter} />
        <fieldset class="scale">
          <legend>Did it help?</legend>
          <div class="helpfulness-buttons">
            <For each={HELPFULNESS}>
              {(label, i) => (
                <button
                  type="button"
                  aria-pressed={helpfulness() === i() + 1}
                  onClick={() => setHelpfulness(i() + 1)}
                >
                  {label}
                </button>
              )}
            </For>
          </div>
        </fieldset>
        <button type="button" class="primary" onClick={() => void save()}>
          Save
        </button>
        <Show when={error()}>{(text) => <p role="alert">{text()}</p>}</Show>
      </Show>
      <Show when={step() === 'saved'}>
        <p role="status">Saved on this phone.</p>
        <Show when={before() !== null && after() !== null}>
          <p>
            Your distress went from {before()} to {after()}.
          </p>
        </Show>
        <p>
          <a class="big-link calm" href="#/coping">
            Back to coping tools
          </a>
        </p>
        <SupportNowLink />
      </Show>
    </section>
  );
}

/** The way to the support sheet from every coping screen. */
function SupportNowLink() {
  return (
    <a class="support-now" href="#/support">
      I need support now
    </a>
  );
}
