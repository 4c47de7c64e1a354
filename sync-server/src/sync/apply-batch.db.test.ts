import { seededRandom } from '@vitalwatch/schema/seeded-random';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import {
  copingToolsUsage,
  emergencyContacts,
  fieldClocks,
  moodEntries,
  moodRevisions,
  mutationErrors,
  userVersions,
} from '@vitalwatch/schema/db/tables';
import { clampHlc } from '@vitalwatch/schema/protocol/hlc';
import type { Mutation } from '@vitalwatch/schema/protocol/push-request';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import type { Db } from '../db/database.ts';
import { withUser } from '../db/with-user.ts';
import { applyBatch, type BatchItem } from './apply-batch.ts';
import { applyMutation, checkMutation } from './apply-mutation.ts';
import type { MutationOutcome } from './mutation-context.ts';
import {
  hlc,
  mutation,
  push,
  pushBody,
  rawMutation,
  signUp,
  startSyncServer,
  type SyncServer,
} from '../../test/sync-test-kit.ts';

type Step = { name: string; args: (id: string) => unknown; slot: number; hlcMs: number };

/**
 * Rounds of random (args are drawn up front, so both users get the same ones) user-lane mutations over a few ids: new entries, edits with newer, older and equal HLCs,
 * deletes, edits after deletes, entries without a score, float4-unfriendly sleep hours, coping uses logged
 * twice, arguments the schema refuses and unknown mutators.
 */
function scenario(seed: number, rounds: number, perRound: number, baseMs: number): Step[][] {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const fields = () => {
    const all = {
      mood: pick([1, 2, 3, 4, 5]),
      energy: pick([null, 1, 4]),
      anxiety: pick([null, 2, 5]),
      sleepHours: pick([null, 7, 7.5, 7.123456789, 0.1]),
      emotions: pick([[], ['calm'], ['calm', 'tired']]),
      note: pick([null, 'a', 'b', 'longer note']),
    };
    return Object.fromEntries(Object.entries(all).filter(() => random() < 0.5));
  };
  return Array.from({ length: rounds }, () =>
    Array.from({ length: perRound }, (): Step => {
      const slot = Math.floor(random() * 5);
      const hlcMs = baseMs + Math.floor(random() * 20); // few distinct clocks: ties and older edits happen
      const roll = random();
      if (roll < 0.6) {
        const f = random() < 0.8 ? { mood: 3, ...fields() } : fields();
        return {
          name: 'mood.upsert@1',
          slot,
          hlcMs,
          args: (id) => ({ id, recordedAt: baseMs + slot, fields: f }),
        };
      }
      if (roll < 0.7) return { name: 'mood.delete@1', slot, hlcMs, args: (id) => ({ id }) };
      if (roll < 0.9) {
        const use = { tool: pick(['box_breathing', 'journal']), completed: random() < 0.5 };
        return {
          name: 'coping.log@1',
          slot,
          hlcMs,
          args: (id) => ({ id, ...use, startedAt: baseMs, helpfulness: 4 }),
        };
      }
      if (roll < 0.95) {
        return {
          name: 'mood.upsert@1',
          slot,
          hlcMs,
          args: (id) => ({ id, recordedAt: 1, fields: { mood: 9 } }),
        };
      }
      return { name: 'mood.teleport@1', slot, hlcMs, args: () => ({ anywhere: true }) };
    }),
  );
}

/** Everything the rules write for a user, with ids replaced by their slot so two users' states compare. */
async function snapshot(db: Db, userId: UserId, slotOf: Map<string, number>) {
  const slot = (id: string) => slotOf.get(id) ?? id;
  const moods = await db.select().from(moodEntries).where(eq(moodEntries.userId, userId));
  const clocks = await db.select().from(fieldClocks).where(eq(fieldClocks.userId, userId));
  const revisions = await db
    .select()
    .from(moodRevisions)
    .where(eq(moodRevisions.userId, userId))
    .orderBy(moodRevisions.replacedAtVersion, moodRevisions.id);
  const coping = await db.select().from(copingToolsUsage).where(eq(copingToolsUsage.userId, userId));
  const bySlot = <T extends { id: string }>(rows: T[]) =>
    rows
      .map(({ id, userId: _owner, ...rest }: T & { userId?: unknown }) => ({ slot: slot(id), ...rest }))
      .sort((a, b) => String(a.slot).localeCompare(String(b.slot)));
  return {
    moods: bySlot(moods),
    clocks: clocks
      .map((c) => ({ slot: slot(c.rowId), table: c.tableName, hlcs: c.hlcs }))
      .sort((a, b) => String(a.slot).localeCompare(String(b.slot))),
    revisions: revisions.map(({ id: _id, userId: _owner, moodEntryId, ...rest }) => ({
      slot: slot(moodEntryId),
      ...rest,
    })),
    coping: bySlot(coping),
  };
}

describeOnEachDatabase('batched push path', (database) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  it('[PU11] a run applied with set-based statements ends exactly where one savepoint per mutation ends', async () => {
    const { db } = database();
    const now = new Date(server.clock.ms);
    for (const seed of [1, 2, 3, 4]) {
      const batched = await signUp(server.app);
      const single = await signUp(server.app);
      const idsOf = (n: number) => Array.from({ length: n }, () => newId());
      const moodIds = { batched: idsOf(5), single: idsOf(5) };
      const copingIds = { batched: idsOf(5), single: idsOf(5) };
      const slotOf = new Map<string, number>();
      for (const ids of [moodIds.batched, moodIds.single, copingIds.batched, copingIds.single]) {
        ids.forEach((id, i) => slotOf.set(id, i));
      }
      const items = (step: Step, seq: number, who: 'batched' | 'single'): BatchItem => {
        const id = (step.name.startsWith('coping') ? copingIds : moodIds)[who][step.slot]!;
        const m: Mutation = rawMutation(seq, step.name, step.args(id));
        m.hlc = hlc(step.hlcMs, 0, 'aa');
        return { mutation: m, checked: checkMutation('user', m), version: seq, hlc: clampHlc(m.hlc, now) };
      };
      let seq = 0;
      for (const round of scenario(seed, 6, 25, now.getTime() - 60_000)) {
        const first = seq;
        seq += round.length;
        const viaBatch = await withUser(db, { sub: batched.userId, role: 'authenticated' }, (tx) =>
          applyBatch(
            tx,
            batched.userId,
            now,
            round.map((step, i) => items(step, first + i + 1, 'batched')),
          ),
        );
        const viaSingle = await withUser(db, { sub: single.userId, role: 'authenticated' }, async (tx) => {
          const outcomes: MutationOutcome[] = [];
          for (const [i, step] of round.entries()) {
            const item = items(step, first + i + 1, 'single');
            outcomes.push(
              await applyMutation(
                { tx, userId: single.userId, version: item.version, hlc: item.hlc, now },
                'user',
                item.mutation,
              ),
            );
          }
          return outcomes;
        });
        expect(viaBatch, `seed ${seed}`).toEqual(viaSingle);
      }
      const a = await snapshot(db, batched.userId, slotOf);
      const b = await snapshot(db, single.userId, slotOf);
      expect(a, `seed ${seed}`).toEqual(b);
      // The scenario is not vacuous: it created, overwrote, deleted and logged.
      expect(a.moods.length).toBeGreaterThan(0);
      expect(a.revisions.length).toBeGreaterThan(0);
      expect(a.moods.some((m) => m.deletedAt !== null)).toBe(true);
      expect(a.coping.length).toBeGreaterThan(0);
    }
  });

  it('[PU11][PU3] a run the database refuses is applied again one by one: only the culprit is rejected', async () => {
    const { db } = database();
    const alice = await signUp(server.app);
    const bob = await signUp(server.app);
    const bobsMood = newId();
    const bobsCoping = newId();
    const t = server.clock.ms;
    await push(
      server.app,
      bob,
      pushBody(newId(), 'user', [
        mutation(1, 'mood.upsert@1', { id: bobsMood, recordedAt: t, fields: { mood: 2, note: 'bob' } }),
        mutation(2, 'coping.log@1', { id: bobsCoping, tool: 'journal', startedAt: t, completed: true }),
      ]),
    );
    const clientId = newId();
    const mine = newId();
    const contact = newId();
    const coping = newId();
    const response = await push(
      server.app,
      alice,
      pushBody(clientId, 'user', [
        mutation(
          1,
          'mood.upsert@1',
          { id: mine, recordedAt: t, fields: { mood: 3, note: 'v1' } },
          { hlc: hlc(t) },
        ),
        mutation(
          2,
          'mood.upsert@1',
          { id: mine, recordedAt: t, fields: { note: 'v2' } },
          { hlc: hlc(t + 1) },
        ),
        // Another account's ids: the set-based INSERT fails, the run falls back, these two alone are refused.
        mutation(3, 'mood.upsert@1', { id: bobsMood, recordedAt: t, fields: { mood: 5, note: 'stolen' } }),
        mutation(4, 'coping.log@1', { id: bobsCoping, tool: 'journal', startedAt: t, completed: false }),
        mutation(5, 'coping.log@1', { id: coping, tool: 'box_breathing', startedAt: t, completed: true }),
        // A mutator without a batched path splits the runs.
        mutation(6, 'contact.upsert@1', {
          id: contact,
          fields: { name: 'Sam', tier: 1 },
          phoneE164: '+15551234567',
          expectedPhoneE164: null,
        }),
        mutation(
          7,
          'mood.upsert@1',
          { id: mine, recordedAt: t, fields: { note: 'v3' } },
          { hlc: hlc(t + 2) },
        ),
        mutation(8, 'mood.delete@1', { id: mine }, { hlc: hlc(t + 3) }),
        mutation(
          9,
          'mood.upsert@1',
          { id: mine, recordedAt: t, fields: { note: 'v4' } },
          { hlc: hlc(t + 4) },
        ),
      ]),
    );
    expect(response.results.map((r) => [r.seq, r.status, 'code' in r ? r.code : null])).toEqual([
      [1, 'ok', null],
      [2, 'ok', null],
      [3, 'rejected', 'forbidden'],
      [4, 'rejected', 'forbidden'],
      [5, 'ok', null],
      [6, 'ok', null],
      [7, 'ok', null],
      [8, 'ok', null],
      [9, 'rejected', 'deleted'],
    ]);
    expect(response.lastSeq).toBe(9);

    const [entry] = await db.select().from(moodEntries).where(eq(moodEntries.id, mine));
    expect(entry).toMatchObject({ note: 'v3', mood: 3, version: expect.any(Number) });
    expect(entry?.deletedAt).not.toBeNull();
    const [counter] = await db.select().from(userVersions).where(eq(userVersions.userId, alice.userId));
    // PU10: one version per mutation in seq order; the row carries its last change's (the delete, seq 8). Seq 9,
    // rejected with nothing written, was handed the next one but the counter does not keep it (PU14).
    const handed = counter!.version + 1;
    expect(entry?.version).toBe(handed - 1);
    const revisions = await db
      .select()
      .from(moodRevisions)
      .where(eq(moodRevisions.moodEntryId, mine))
      .orderBy(moodRevisions.replacedAtVersion);
    expect(revisions.map((r) => [r.previous, r.replacedAtVersion - handed])).toEqual([
      [{ note: { value: 'v1', hlc: hlc(t) } }, -7],
      [{ note: { value: 'v2', hlc: hlc(t + 1) } }, -2],
    ]);
    const [clock] = await db
      .select()
      .from(fieldClocks)
      .where(and(eq(fieldClocks.rowId, mine), eq(fieldClocks.tableName, 'mood_entries')));
    expect(clock?.hlcs).toEqual({ mood: hlc(t), note: hlc(t + 2) });
    expect(await db.select().from(copingToolsUsage).where(eq(copingToolsUsage.id, coping))).toHaveLength(1);
    expect(await db.select().from(emergencyContacts).where(eq(emergencyContacts.id, contact))).toHaveLength(
      1,
    );
    const [bobs] = await db.select().from(moodEntries).where(eq(moodEntries.id, bobsMood));
    expect(bobs).toMatchObject({ note: 'bob', mood: 2 });
    const [bobsUse] = await db.select().from(copingToolsUsage).where(eq(copingToolsUsage.id, bobsCoping));
    expect(bobsUse?.completed).toBe(true);
    const errors = await db
      .select()
      .from(mutationErrors)
      .where(eq(mutationErrors.clientId, clientId))
      .orderBy(mutationErrors.seq);
    expect(errors.map((e) => [e.seq, e.code])).toEqual([
      [3, 'forbidden'],
      [4, 'forbidden'],
      [9, 'deleted'],
    ]);
  });
});
