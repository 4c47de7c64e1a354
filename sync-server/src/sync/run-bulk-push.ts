/**
 * A bulk-lane push (sensor samples), applied in short steps so that no account's upload holds the database for
 * long (issue #13 item 3, SPEC SE23): on PGlite one statement runs at a time on the event loop, and a
 * 500,000-sample push in one transaction held another account's SOS for 11 s.
 *
 * Each step is its own `withUser` transaction, started in the bulk lane's turn at the database gate (after any
 * SOS or user push waiting, `db/database-gate.ts`), and inserts at most `stepSamples` samples: a batch larger
 * than that is inserted in slices over several steps. The first step only locks the lane row and sequences the
 * push as every lane does (`sequenceBatch`: dups, the gap). The CPU work (the schema's checks, the ids and times
 * of each sample) is done outside the transactions, a batch per turn of the event loop. A step ends by recording
 * the rejections of the mutations it finished and moving `last_seq` to the last of them, so `last_seq` only ever
 * covers samples that are stored.
 *
 * What that changes against one transaction, and why it is safe: samples are immutable and inserted once by id
 * (CF1), so the steps of a push that fails halfway (a transient error → 503, a crash) leave stored samples that
 * the re-sent batch skips, and a lane position that never passes a batch not wholly stored. Two pushes of one
 * device's bulk lane at once (the client never sends them, CL12) may both answer `ok` for the same seqs; the
 * samples are still stored once.
 */
import type { Mutation, PushRequest } from '@vitalwatch/schema/protocol/push-request';
import type { MutationResult } from '@vitalwatch/schema/protocol/push-response';
import type { Db, DbKind, Tx } from '../db/database.ts';
import type { DatabaseGate } from '../db/database-gate.ts';
import { withUser, type RequestClaims } from '../db/with-user.ts';
import type { BatchItem } from './apply-batch.ts';
import { checkMutation, type CheckedMutation } from './apply-mutation.ts';
import { rejectionForDatabaseError } from './database-errors.ts';
import { advanceLane, lockLane } from './lane-row.ts';
import { OK, type MutationOutcome } from './mutation-context.ts';
import { MutationRejected } from './mutation-rejected.ts';
import {
  insertSamples,
  sampleColumnsV1,
  sampleColumnsV2,
  type SampleColumns,
} from './mutators/samples-append.ts';
import { recordRejections } from './record-rejections.ts';
import { NO_CHANGES } from './pushed-changes.ts';
import { dupRejections, sequenceBatch, type PushOutcome, type Sequenced } from './run-push.ts';

/**
 * Samples per step. PGlite: ~2,000 rows take 30–45 ms on this 2-core machine (bench/README.md), which is what an
 * SOS may wait for. Postgres runs an SOS beside a step, so its steps only bound how long one holds a connection.
 */
export const BULK_STEP_SAMPLES: Readonly<Record<DbKind, number>> = { pglite: 2_000, postgres: 10_000 };
/** A bulk push's outcome, with the samples it stored that were not stored before (the daily quota's count, SE48). */
export type BulkPushOutcome = PushOutcome & { newSamples: number };

/** What one mutation costs a step besides its samples (a savepoint and a statement), in samples. */
const MUTATION_COST = 50;

/** A mutation of the push on its way through the steps. */
type Progress = {
  item: BatchItem;
  columns: SampleColumns | null;
  /** Samples of `columns` stored so far. */
  stored: number;
  /** Of those, the ones that were new (not already stored by an earlier sending of the batch). */
  inserted: number;
  outcome: MutationOutcome | null;
};

/** The batch's columns, or its rejection when the pure checks or the value checks refuse it. */
function prepare(progress: Progress): void {
  const { checked } = progress.item;
  if (!checked.ok) {
    progress.outcome = checked.rejection;
    return;
  }
  try {
    if (checked.name === 'samples.append@1') {
      progress.columns = sampleColumnsV1(checked.args as Parameters<typeof sampleColumnsV1>[0]);
    } else if (checked.name === 'samples.append@2') {
      progress.columns = sampleColumnsV2(checked.args as Parameters<typeof sampleColumnsV2>[0]);
    } else {
      // `checkMutation` refuses mutators of other lanes (wrong_lane), so this is a bulk mutator without a path here.
      throw new Error(`no bulk path for ${checked.name}`);
    }
  } catch (error) {
    if (!(error instanceof MutationRejected)) throw error;
    progress.outcome = { status: 'rejected', code: error.code, message: error.message };
  }
}

/** Prepares the batches the next step will store (up to `stepSamples` of them), each on a bulk turn of its own (SE49). */
async function prepareStep(
  gate: DatabaseGate,
  queue: readonly Progress[],
  next: number,
  stepSamples: number,
): Promise<void> {
  let samples = 0;
  for (let i = next; i < queue.length && samples < stepSamples; i++) {
    const progress = queue[i]!;
    if (progress.columns === null && progress.outcome === null) {
      await gate.bulkTurn();
      prepare(progress);
    }
    samples += (progress.columns?.ids.length ?? 0) - progress.stored + MUTATION_COST;
  }
}

/**
 * Stores what fits of `progress` into `budget` samples under a savepoint; returns the samples used. A refusal by
 * the database rejects the mutation (slices stored by earlier steps stay: they are valid samples).
 */
async function storeSlice(
  tx: Tx,
  claims: RequestClaims,
  progress: Progress,
  budget: number,
): Promise<number> {
  const columns = progress.columns!;
  const to = Math.min(columns.ids.length, progress.stored + budget);
  try {
    progress.inserted += await tx.transaction((savepoint) =>
      insertSamples(savepoint, claims.sub, columns, progress.stored, to),
    );
  } catch (error) {
    const rejection = rejectionForDatabaseError(error);
    if (rejection === null) throw error;
    progress.outcome = { status: 'rejected', code: rejection.code, message: rejection.message };
    return 0;
  }
  const used = to - progress.stored;
  progress.stored = to;
  if (to === columns.ids.length) progress.outcome = OK;
  return used;
}

export async function runBulkPush(
  db: Db,
  gate: DatabaseGate,
  claims: RequestClaims,
  push: PushRequest,
  now: Date,
  stepSamples: number,
): Promise<BulkPushOutcome> {
  const context = { userId: claims.sub, clientId: push.clientId, lane: push.lane, now };
  const state: {
    sequenced: Sequenced | null;
    queue: Progress[];
    next: number;
    dups: Map<number, { code: string; message: string }>;
  } = { sequenced: null, queue: [], next: 0, dups: new Map() };

  /** One step: as many mutations (or slices of one) as fit in `stepSamples`, the finished ones recorded. */
  async function step(tx: Tx): Promise<void> {
    if (state.sequenced === null) {
      const startSeq = await lockLane(tx, claims.sub, push.clientId, push.lane, now);
      state.sequenced = sequenceBatch(push, startSeq, null, now, check);
      state.queue = state.sequenced.items.map((item) => ({
        item,
        columns: null,
        stored: 0,
        inserted: 0,
        outcome: null,
      }));
      state.dups = await dupRejections(tx, push, state.sequenced.results);
      return; // the first step only sequences: what it found is prepared outside any transaction
    }
    const finished: Progress[] = [];
    let budget = stepSamples;
    while (state.next < state.queue.length && budget > 0) {
      const progress = state.queue[state.next]!;
      if (progress.columns === null && progress.outcome === null) prepare(progress);
      if (progress.outcome === null) budget -= await storeSlice(tx, claims, progress, budget);
      budget -= MUTATION_COST;
      if (progress.outcome === null) break; // the step is full halfway through this batch
      finished.push(progress);
      state.next += 1;
    }
    await recordRejections(
      tx,
      context,
      finished.flatMap(({ item, outcome }) =>
        outcome?.status === 'rejected' ? [{ mutation: item.mutation, ...outcome }] : [],
      ),
    );
    const last = finished.at(-1);
    if (last !== undefined) await advanceLane(tx, push.clientId, push.lane, last.item.mutation.seq, now);
  }

  // The CPU work (the schema's checks, ids and times: tens of ms per 10,000 samples) is done before a step, outside
  // its transaction, in pieces, each on a bulk turn of its own (`bulkTurn`, SE49: one piece or step per turn of the
  // event loop across all uploads, and an SOS in flight goes first): a step holds the database only for its inserts.
  const checked = new Map<Mutation, CheckedMutation>();
  for (const mutation of push.mutations) {
    await gate.bulkTurn();
    checked.set(mutation, checkMutation(push.lane, mutation));
  }
  const check = (mutation: Mutation) => checked.get(mutation)!;

  // A transient error in any step escapes (503): what earlier steps stored stays, and is skipped when re-sent.
  await gate.run('bulk', () => withUser(db, claims, step));
  while (state.next < state.queue.length) {
    await prepareStep(gate, state.queue, state.next, stepSamples);
    await gate.run('bulk', () => withUser(db, claims, step));
  }

  const { results, lastSeq } = state.sequenced!;
  const outcomes = new Map(state.queue.map((progress) => [progress.item, progress.outcome!]));
  return {
    results: results.map((r): MutationResult => {
      if (!('mutation' in r)) {
        const rejection = r.status === 'dup' ? state.dups.get(r.seq) : undefined;
        return rejection === undefined ? r : { seq: r.seq, status: 'dup', rejected: rejection };
      }
      const outcome = outcomes.get(r)!;
      return outcome.status === 'rejected'
        ? { seq: r.mutation.seq, status: 'rejected', code: outcome.code, message: outcome.message }
        : { seq: r.mutation.seq, status: 'ok' };
    }),
    lastSeq,
    newVersion: null,
    changes: NO_CHANGES,
    newSamples: state.queue.reduce((sum, progress) => sum + progress.inserted, 0),
  };
}
