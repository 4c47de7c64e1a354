/**
 * One mutation of a push, under its own savepoint: check the name and lane, parse the arguments with the
 * mutator's schema from `schema/` (`checkMutation`, shared with the batched path), run the mutator. The path for
 * mutators without a batched one, and the fallback when a batched run fails (run-push.ts). A permanent failure rolls back this mutation only and becomes
 * a `rejected` result (recorded in `mutation_errors` by the caller); a transient database error escapes, failing
 * the whole batch (503); anything else escapes too (500), writing nothing.
 */
import * as z from 'zod/mini';
import {
  isMutatorName,
  MUTATORS,
  type MutatorArgs,
  type MutatorName,
} from '@vitalwatch/schema/protocol/mutators';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import type { Mutation } from '@vitalwatch/schema/protocol/push-request';
import { rejectionForDatabaseError } from './database-errors.ts';
import { MutationRejected, type RejectionCode } from './mutation-rejected.ts';
import type { MutationContext, MutationOutcome } from './mutation-context.ts';
import { contactDelete, contactUpsert } from './mutators/contact-upsert.ts';
import { copingLog } from './mutators/coping-log.ts';
import { screenerRecord } from './mutators/screener-record.ts';
import { incidentEvent } from './mutators/incident-event.ts';
import { incidentTrigger } from './mutators/incident-trigger.ts';
import { moodDelete, moodUpsert } from './mutators/mood-upsert.ts';
import { samplesAppend, samplesAppendV2 } from './mutators/samples-append.ts';
import { settingsUpdate } from './mutators/settings-update.ts';

type Mutator<N extends MutatorName> = (
  ctx: MutationContext,
  args: MutatorArgs<N>,
) => Promise<MutationOutcome>;

/** Every mutator the server runs; a name in MUTATORS without an entry here fails to compile. */
const APPLY: { readonly [N in MutatorName]: Mutator<N> } = {
  'incident.trigger@1': incidentTrigger,
  'incident.event@1': incidentEvent,
  'mood.upsert@1': moodUpsert,
  'mood.delete@1': moodDelete,
  'contact.upsert@1': contactUpsert,
  'contact.delete@1': contactDelete,
  'settings.update@1': settingsUpdate,
  'coping.log@1': copingLog,
  'screener.record@1': screenerRecord,
  'samples.append@1': samplesAppend,
  'samples.append@2': samplesAppendV2,
};

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${['args', ...issue.path.map(String)].join('.')}: ${issue.message}`)
    .join('; ');
}

/** A mutation after the checks that need no database: its mutator and parsed arguments, or its rejection. */
export type CheckedMutation =
  | { ok: true; name: MutatorName; args: MutatorArgs<MutatorName> }
  | { ok: false; rejection: Extract<MutationOutcome, { status: 'rejected' }> };

/** Name, lane and arguments (the mutator's schema): pure checks, the same for the batched and the single path. */
export function checkMutation(lane: Lane, mutation: Mutation): CheckedMutation {
  const { name } = mutation;
  if (!isMutatorName(name)) {
    return rejected(
      'unknown_mutator',
      `This server does not know the change "${name}". Update the app; the change is kept in your account's error log.`,
    );
  }
  if (MUTATORS[name].lane !== lane) {
    return rejected(
      'wrong_lane',
      `"${name}" belongs to the ${MUTATORS[name].lane} queue, not ${lane}. Update the app.`,
    );
  }
  const parsed = z.safeParse(MUTATORS[name].args, mutation.args);
  if (!parsed.success) {
    return rejected(
      'invalid_args',
      `The app sent this change in a form the server cannot read (${describeIssues(parsed.error.issues)}). ` +
        "Update the app; the change is kept in your account's error log.",
    );
  }
  return { ok: true, name, args: parsed.data };
}

function rejected(code: RejectionCode, message: string): CheckedMutation {
  return { ok: false, rejection: { status: 'rejected', code, message } };
}

function runMutator<N extends MutatorName>(
  ctx: MutationContext,
  name: N,
  args: MutatorArgs<MutatorName>,
): Promise<MutationOutcome> {
  // `checkMutation` parsed `args` with `MUTATORS[name].args`; TypeScript cannot follow the correlation.
  const mutator = APPLY[name] as Mutator<N>;
  return mutator(ctx, args as MutatorArgs<N>);
}

/**
 * Applies `mutation` in a savepoint of `ctx.tx`. Returns the outcome; a rejection that must write nothing has had
 * its savepoint rolled back.
 */
export async function applyMutation(
  ctx: MutationContext,
  lane: Lane,
  mutation: Mutation,
): Promise<MutationOutcome> {
  const checked = checkMutation(lane, mutation);
  if (!checked.ok) return checked.rejection;
  try {
    return await ctx.tx.transaction((savepoint) =>
      runMutator({ ...ctx, tx: savepoint }, checked.name, checked.args),
    );
  } catch (error) {
    if (error instanceof MutationRejected) {
      return { status: 'rejected', code: error.code, message: error.message };
    }
    const rejection = rejectionForDatabaseError(error);
    if (rejection !== null) return { status: 'rejected', code: rejection.code, message: rejection.message };
    throw error;
  }
}
