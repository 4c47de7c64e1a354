/**
 * One push batch of the critical or user lane, in one transaction under the user's RLS (docs/sync-design.md), started
 * when the database gate gives the lane its turn (an SOS first, `db/database-gate.ts`). The bulk lane is applied in
 * short steps instead (`run-bulk-push.ts`), with the same sequencing (`sequenceBatch`).
 *
 * 1. Lock the device's lane row (`sync_clients`, created with all three lanes on first sight, which binds the
 *    device id to this user), then the user's version counter (`user_versions`). The order is always lane row, then
 *    counter, so two pushes never deadlock; the counter lock is what hands out versions in commit order. The bulk
 *    lane stamps no versions and takes no counter lock, so a sample upload never holds up an SOS (PU8).
 * 2. Sequence, in memory: `seq <= last_seq` → `dup`, not applied; `seq > last_seq + 1` → a gap: stop, no result
 *    for it or anything after; otherwise the mutation gets `version = ++v` and the pure checks (name, lane, args).
 * 3. Apply in runs: consecutive moods and coping uses (and mutations the checks refused) go through the batched
 *    path (`apply-batch.ts`, PU11) under one savepoint, a handful of statements per run; anything else alone
 *    under its own savepoint (`apply-mutation.ts`). A run the database refuses is rolled back and applied again
 *    one mutation at a time, so one bad mutation is rejected alone either way.
 * 4. Record every rejection in `mutation_errors` (one statement); rejections still advance `last_seq`. Store
 *    `last_seq` and the counter, which moves only as far as the last mutation that kept a write: a push whose
 *    mutations were all rejected changes no version and pokes nobody (PU14). A transient database error anywhere
 *    escapes and rolls everything back (PU5).
 * 5. To a protocol-5 client, each `dup` says how its mutation ended: the rejection recorded in `mutation_errors`
 *    for that (device, lane, seq), or nothing when it was applied (PU13).
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { UserId } from '@vitalwatch/schema/ids';
import { mutationErrors, userVersions } from '@vitalwatch/schema/db/tables';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import type { Mutation, PushRequest } from '@vitalwatch/schema/protocol/push-request';
import {
  DUP_OUTCOME_SINCE_PROTOCOL,
  OWN_ROWS_SINCE_PROTOCOL,
  type MutationResult,
} from '@vitalwatch/schema/protocol/push-response';
import type { Db, Tx } from '../db/database.ts';
import { withUser, type RequestClaims } from '../db/with-user.ts';
import type { DatabaseGate } from '../db/database-gate.ts';
import { lockUserVersion } from '../db/user-version.ts';
import { applyBatch, isBatchable, type BatchItem } from './apply-batch.ts';
import { applyMutation, checkMutation, type CheckedMutation } from './apply-mutation.ts';
import { isTransientDatabaseError } from '../db/transient-database-error.ts';
import { rejectionForDatabaseError } from './database-errors.ts';
import { advanceLane, lockLane } from './lane-row.ts';
import type { MutationOutcome } from './mutation-context.ts';
import { pushedChanges, type PushedChanges } from './pushed-changes.ts';
import { recordRejections } from './record-rejections.ts';
import { clampHlc } from '@vitalwatch/schema/protocol/hlc';

export type PushOutcome = {
  results: MutationResult[];
  lastSeq: number;
  /** The user's version after the batch when it stamped any; null when it changed no synced row. */
  newVersion: number | null;
  /** What the batch changed that alert delivery acts on (pushed-changes.ts). */
  changes: PushedChanges;
};

/** How each dup seq ended the first time (PU13): its recorded rejection, by seq (applied ones are absent). */
export async function firstRejections(
  tx: Tx,
  clientId: string,
  lane: Lane,
  seqs: readonly number[],
): Promise<Map<number, { code: string; message: string }>> {
  if (seqs.length === 0) return new Map();
  const rows = await tx
    .select({ seq: mutationErrors.seq, code: mutationErrors.code, message: mutationErrors.message })
    .from(mutationErrors)
    .where(
      and(
        eq(mutationErrors.clientId, clientId),
        eq(mutationErrors.lane, lane),
        inArray(mutationErrors.seq, [...seqs]),
      ),
    );
  return new Map(rows.map((r) => [r.seq, { code: r.code, message: r.message }]));
}

/** The first outcome of each `dup` in `results`, for a client that understands it (protocol 5+, PU13). */
export function dupRejections(
  tx: Tx,
  push: PushRequest,
  results: ReadonlyArray<MutationResult | BatchItem>,
): Promise<Map<number, { code: string; message: string }>> {
  if (push.protocolVersion < DUP_OUTCOME_SINCE_PROTOCOL)
    return Promise.resolve(new Map<number, { code: string; message: string }>());
  const dups = results.flatMap((r) => ('mutation' in r ? [] : [r.seq]));
  return firstRejections(tx, push.clientId, push.lane, dups);
}

/** Which path applies what: consecutive batchable mutations form one run (`apply-batch.ts`), the rest go alone. */
function splitIntoRuns(items: BatchItem[]): BatchItem[][] {
  const runs: BatchItem[][] = [];
  let run: BatchItem[] = [];
  for (const item of items) {
    if (isBatchable(item.checked)) {
      run.push(item);
      continue;
    }
    if (run.length > 0) runs.push(run);
    runs.push([item]);
    run = [];
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Applies a run with the batched path under one savepoint; when the database refuses one of its set-based
 * statements, rolls that back and applies the run one mutation at a time, each under its own savepoint, so the
 * culprit is rejected alone and the others apply (PU3, PU11). A transient error escapes (PU5).
 */
async function applyRun(
  tx: Tx,
  userId: UserId,
  lane: Lane,
  now: Date,
  run: BatchItem[],
): Promise<MutationOutcome[]> {
  const pure = run.flatMap(({ checked }) => (checked.ok ? [] : [checked.rejection]));
  if (pure.length === run.length) return pure; // refused by the pure checks: nothing to write
  if (run.every(({ checked }) => isBatchable(checked))) {
    try {
      return await tx.transaction((savepoint) => applyBatch(savepoint, userId, now, run));
    } catch (error) {
      if (isTransientDatabaseError(error) || rejectionForDatabaseError(error) === null) throw error;
    }
  }
  const outcomes: MutationOutcome[] = [];
  for (const { mutation, version, hlc } of run) {
    outcomes.push(await applyMutation({ tx, userId, version, hlc, now }, lane, mutation));
  }
  return outcomes;
}

/** A push's mutations in seq order: answered (`dup`), or to apply (with their versions and pure checks). */
export type Sequenced = {
  results: Array<MutationResult | BatchItem>;
  items: BatchItem[];
  lastSeq: number;
  version: number;
};

/**
 * Sequence, in memory: dups, the gap, and each new mutation's version in seq order (PU1, PU2, PU10). `startVersion`
 * is null on a lane that stamps no versions (bulk).
 */
export function sequenceBatch(
  push: PushRequest,
  startSeq: number,
  startVersion: number | null,
  now: Date,
  check: (mutation: Mutation) => CheckedMutation = (mutation) => checkMutation(push.lane, mutation),
): Sequenced {
  let lastSeq = startSeq;
  let version = startVersion ?? 0;
  const results: Array<MutationResult | BatchItem> = [];
  const items: BatchItem[] = [];
  for (const mutation of push.mutations) {
    if (mutation.seq <= lastSeq) {
      results.push({ seq: mutation.seq, status: 'dup' });
      continue;
    }
    if (mutation.seq > lastSeq + 1) break;
    if (startVersion !== null) version += 1;
    const item: BatchItem = {
      mutation,
      checked: check(mutation),
      version: startVersion !== null ? version : 0,
      hlc: clampHlc(mutation.hlc, now),
    };
    items.push(item);
    results.push(item);
    lastSeq = mutation.seq;
  }
  return { results, items, lastSeq, version };
}

/** The critical and user lanes: one transaction, through the gate in the lane's turn. Bulk: `run-bulk-push.ts`. */
export async function runPush(
  db: Db,
  gate: DatabaseGate,
  claims: RequestClaims,
  push: PushRequest,
  now: Date,
): Promise<PushOutcome> {
  const userId = claims.sub;
  const context = { userId, clientId: push.clientId, lane: push.lane, now };
  return gate.run(push.lane, () =>
    withUser(db, claims, async (tx) => {
      const startSeq = await lockLane(tx, userId, push.clientId, push.lane, now);
      const startVersion = await lockUserVersion(tx, userId);
      const { results, items, lastSeq } = sequenceBatch(push, startSeq, startVersion, now);

      const outcomes = new Map<BatchItem, MutationOutcome>();
      for (const run of splitIntoRuns(items)) {
        const runOutcomes = await applyRun(tx, userId, push.lane, now, run);
        run.forEach((item, i) => outcomes.set(item, runOutcomes[i]!));
      }

      await recordRejections(
        tx,
        context,
        items.flatMap((item) => {
          const outcome = outcomes.get(item)!;
          return outcome.status === 'rejected' ? [{ mutation: item.mutation, ...outcome }] : [];
        }),
      );
      if (lastSeq !== startSeq) await advanceLane(tx, push.clientId, push.lane, lastSeq, now);
      // Versions handed to mutations that were rejected (and wrote nothing) are not kept: the counter stops at the
      // last one whose writes stand, so nothing moves for devices when nothing changed for them (PU14).
      const stamped = items.filter((item) => {
        const outcome = outcomes.get(item)!;
        return outcome.status === 'ok' || outcome.kept === true;
      });
      const newVersion = stamped.length > 0 ? stamped.at(-1)!.version : null;
      if (newVersion !== null) {
        await tx.update(userVersions).set({ version: newVersion }).where(eq(userVersions.userId, userId));
      }
      const dupOutcomes = await dupRejections(tx, push, results);
      return {
        results: results.map((r) => {
          if (!('mutation' in r)) {
            const rejection = dupOutcomes.get(r.seq);
            return rejection === undefined ? r : { ...r, rejected: rejection };
          }
          const outcome = outcomes.get(r)!;
          if (outcome.status === 'rejected') {
            const { code, message } = outcome;
            return { seq: r.mutation.seq, status: 'rejected' as const, code, message };
          }
          // PU12: a row created exactly as the device computed it, HLC unclamped, to a client that knows `v`.
          const own =
            outcome.created === true &&
            r.hlc === r.mutation.hlc &&
            push.protocolVersion >= OWN_ROWS_SINCE_PROTOCOL;
          return { seq: r.mutation.seq, status: 'ok' as const, ...(own && { v: r.version }) };
        }),
        lastSeq,
        newVersion,
        changes: pushedChanges(stamped.flatMap(({ checked }) => (checked.ok ? [checked] : []))),
      };
    }),
  );
}
