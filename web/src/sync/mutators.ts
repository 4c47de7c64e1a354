/**
 * The only way the app writes synced data. Each call parses its args with the protocol's schema (bad args throw
 * before anything is written), then in ONE Dexie transaction: keeps the server's copy of each row it touches
 * (`bases`), applies the change locally, and appends the outbox entry with its lane's next seq and a fresh HLC.
 * A crash anywhere inside leaves neither the row nor the entry.
 */
import { MUTATORS, type MutatorArgs, type MutatorName } from '@vitalwatch/schema/protocol/mutators';
import { newSampleBatchId, sampleIds, sampleTimes } from '@vitalwatch/schema/protocol/sample-ids';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import type { SyncedTable } from '@vitalwatch/schema/protocol/pull-response';
import type { Table } from 'dexie';
import { applyMutation, mutationRefs, parseMutationArgs } from './apply-mutation.ts';
import { formatHlc, HLC_ZERO, parseHlc, tickHlc } from '@vitalwatch/schema/protocol/hlc';
import { ensureClientId, metaRow, readMeta, type LocalDb } from './local-db.ts';
import { dexieRowStore, saveBases } from './pending-rows.ts';

/** The synced tables each mutator may change locally: its transaction's scope. */
const TABLES: { [N in MutatorName]: readonly SyncedTable[] } = {
  'incident.trigger@1': ['emergency_incidents'],
  'incident.event@1': ['incident_events', 'emergency_incidents'],
  'mood.upsert@1': ['mood_entries'],
  'mood.delete@1': ['mood_entries'],
  'contact.upsert@1': ['emergency_contacts'],
  'contact.delete@1': ['emergency_contacts'],
  'settings.update@1': ['user_settings'],
  'coping.log@1': ['coping_tools_usage'],
  'screener.record@1': ['screener_results'],
  'samples.append@1': [],
  'samples.append@2': [],
};

export interface QueuedMutation {
  readonly lane: Lane;
  readonly seq: number;
  /** The outbox entry's key. */
  readonly key: number;
  readonly hlc: string;
}

export interface MutatorDeps {
  db: LocalDb;
  /** Device clock, ms. */
  now: () => number;
  /** Called after each commit (e.g. the sync loop's `notifyLocalWrite`). */
  onCommitted?: (lane: Lane) => void;
}

export type Mutators = ReturnType<typeof createMutators>;

export function createMutators({ db, now, onCommitted }: MutatorDeps) {
  async function mutate<N extends MutatorName>(name: N, input: MutatorArgs<N>): Promise<QueuedMutation> {
    const args = parseMutationArgs(name, input);
    const { lane } = MUTATORS[name];
    const scope: Table[] = [db.outbox, db.meta, db.bases, ...TABLES[name].map((t) => db.table(t))];
    const appendsSamples = name === 'samples.append@1' || name === 'samples.append@2';
    if (appendsSamples) scope.push(db.samples);

    const queued = await db.transaction('rw', scope, async (): Promise<QueuedMutation> => {
      const nextSeqKey = `nextSeq:${lane}` as const;
      const meta = await readMeta(db, ['clientId', 'hlc', 'userId', 'clockOffsetMs', nextSeqKey]);
      const clientId = meta.clientId ?? (await ensureClientId(db));
      const at = now();
      const hlc = formatHlc(
        tickHlc(parseHlc(meta.hlc ?? '') ?? HLC_ZERO, at + (meta.clockOffsetMs ?? 0)),
        clientId,
      );
      const ctx = { hlc, at, userId: meta.userId };
      const refs = mutationRefs(name, args, ctx);
      await saveBases(db, refs);
      await applyMutation(dexieRowStore(db), name, args, ctx);
      if (appendsSamples) await storeSamples(db, args as SamplesArgs);

      const seq = meta[nextSeqKey] ?? 1;
      const key = await db.outbox.add({
        lane,
        seq,
        name,
        args,
        hlc,
        createdAt: at,
        attempts: 0,
        lastError: null,
        refs,
      });
      await db.meta.bulkPut([metaRow(nextSeqKey, seq + 1), metaRow('hlc', hlc)]);
      return { lane, seq, key, hlc };
    });
    onCommitted?.(lane);
    return queued;
  }

  return {
    mutate,
    triggerIncident: (args: MutatorArgs<'incident.trigger@1'>) => mutate('incident.trigger@1', args),
    recordIncidentEvent: (args: MutatorArgs<'incident.event@1'>) => mutate('incident.event@1', args),
    upsertMood: (args: MutatorArgs<'mood.upsert@1'>) => mutate('mood.upsert@1', args),
    deleteMood: (args: MutatorArgs<'mood.delete@1'>) => mutate('mood.delete@1', args),
    upsertContact: (args: MutatorArgs<'contact.upsert@1'>) => mutate('contact.upsert@1', args),
    deleteContact: (args: MutatorArgs<'contact.delete@1'>) => mutate('contact.delete@1', args),
    updateSettings: (args: MutatorArgs<'settings.update@1'>) => mutate('settings.update@1', args),
    logCopingTool: (args: MutatorArgs<'coping.log@1'>) => mutate('coping.log@1', args),
    recordScreener: (args: MutatorArgs<'screener.record@1'>) => mutate('screener.record@1', args),
    /** One batch of samples as `samples.append@2`, under a new batch id (each sample's id derives from it). */
    appendSamples: (args: Omit<MutatorArgs<'samples.append@2'>, 'id'>) =>
      mutate('samples.append@2', { ...args, id: newSampleBatchId(now()) }),
  };
}

type SamplesArgs = MutatorArgs<'samples.append@1'> | MutatorArgs<'samples.append@2'>;

/**
 * Keeps a batch's samples until the server acknowledges it, under the ids the server stores them by: `@1`'s own,
 * `@2`'s derived from the batch id (CF13). Sample i was taken at t0 + dt[0] + … + dt[i].
 */
async function storeSamples(db: LocalDb, args: SamplesArgs): Promise<void> {
  const ids = 'ids' in args ? args.ids : sampleIds(args.id, args.t0, args.dt);
  const times = sampleTimes(args.t0, args.dt);
  await db.samples.bulkPut(
    ids.map((id, i) => ({ id, kind: args.kind, t: times[i] ?? args.t0, v: args.v[i] ?? 0 })),
  );
}
