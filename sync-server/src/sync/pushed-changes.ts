/**
 * What a committed push changed that alert delivery acts on, handed to it as it is (SPEC AL22): the incidents the
 * push created or gave an event, and whether it changed what every live incident's plan reads (contacts,
 * settings). Moods, coping uses and samples change nothing there, so they cost alert delivery nothing, and an SOS
 * reaches the dispatcher as its incident id, not as "this user changed something, look it up".
 *
 * The dispatcher still finds its work by itself at start-up and on its periodic scan (the ledger is the queue, ADR
 * 0010): this is the fast path, not the only one.
 */
import type { UserId } from '@vitalwatch/schema/ids';
import type { MutatorArgs, MutatorName } from '@vitalwatch/schema/protocol/mutators';

export type PushedChanges = {
  /** Incidents a mutation of the push created or changed (`incident.trigger@1`, `incident.event@1`). */
  readonly incidentIds: readonly string[];
  /** The push changed contacts or settings, which the plans of all the user's live incidents read. */
  readonly planFacts: boolean;
};

/** Told after a push committed and stamped a version; never awaited by the push. */
export type OnPushed = (userId: UserId, changes: PushedChanges) => void;

export const NO_CHANGES: PushedChanges = { incidentIds: [], planFacts: false };

/** An incident a mutation changed, `PLAN_FACTS` for a change every live incident's plan reads, or nothing. */
type Effect = string | typeof PLAN_FACTS | null;
const PLAN_FACTS = Symbol('plan facts');

/** Every mutator says what it means for alert delivery: a new mutator fails to compile until it does. */
const EFFECT: { readonly [N in MutatorName]: (args: MutatorArgs<N>) => Effect } = {
  'incident.trigger@1': (args) => args.id,
  'incident.event@1': (args) => args.incidentId,
  'contact.upsert@1': () => PLAN_FACTS,
  'contact.delete@1': () => PLAN_FACTS,
  'settings.update@1': () => PLAN_FACTS,
  'mood.upsert@1': () => null,
  'mood.delete@1': () => null,
  'coping.log@1': () => null,
  'screener.record@1': () => null,
  'samples.append@1': () => null,
  'samples.append@2': () => null,
};

/** The changes of the mutations whose writes stand (applied, or rejected with their writes kept). */
export function pushedChanges(
  applied: ReadonlyArray<{ name: MutatorName; args: MutatorArgs<MutatorName> }>,
): PushedChanges {
  const incidentIds = new Set<string>();
  let planFacts = false;
  for (const { name, args } of applied) {
    // `args` was parsed with this mutator's schema (checkMutation); TypeScript cannot follow the correlation.
    const effect = (EFFECT[name] as (args: MutatorArgs<MutatorName>) => Effect)(args);
    if (effect === PLAN_FACTS) planFacts = true;
    else if (effect !== null) incidentIds.add(effect);
  }
  return { incidentIds: [...incidentIds], planFacts };
}
