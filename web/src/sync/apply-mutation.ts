/**
 * What each mutator does to the synced rows, written once against a small `RowStore` so the same code applies a
 * mutation optimistically (mutators.ts), re-applies pending ones on top of pulled rows (pending-rows.ts), and
 * plays the server in tests (web/test-support/fake-sync-server.ts).
 *
 * Invariants every applier keeps:
 * - Deterministic: the result depends only on the store, the args and the context (the mutation's own HLC and
 *   creation time), so a re-apply reproduces the original edit.
 * - Idempotent and "last set wins": applying a sequence again on top of its own result changes nothing. Rebuilds
 *   rely on it.
 * - `version` is never changed here: a row keeps the last version the server sent (0 for a row the server has
 *   not seen yet); only the server assigns versions.
 * - A row is created only when the args carry every required field; otherwise the edit waits for the server.
 */
import {
  isMutatorName,
  MUTATORS,
  type MutatorArgs,
  type MutatorName,
} from '@vitalwatch/schema/protocol/mutators';
import { stepIncident } from '@vitalwatch/schema/protocol/incident-machine';
import type { IncidentRow } from '@vitalwatch/schema/protocol/rows';
import type { SyncedTable } from '@vitalwatch/schema/protocol/pull-response';
import { locationColumns, SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import { rowRef, type RowByTable, type RowRef } from './local-db.ts';

export interface RowStore {
  get<T extends SyncedTable>(table: T, id: string): Promise<RowByTable[T] | undefined>;
  put<T extends SyncedTable>(table: T, row: RowByTable[T]): Promise<void>;
  delete(table: SyncedTable, id: string): Promise<void>;
}

export interface ApplyContext {
  /** The mutation's HLC. */
  readonly hlc: string;
  /** The mutation's creation time (device clock, ms). */
  readonly at: number;
  /** The signed-in user (the settings row's id); undefined before bindUser. */
  readonly userId: string | undefined;
}

interface Applier<N extends MutatorName> {
  /** The rows this mutation changes. */
  refs(args: MutatorArgs<N>, ctx: ApplyContext): RowRef[];
  apply(store: RowStore, args: MutatorArgs<N>, ctx: ApplyContext): Promise<void>;
}

/** Copies the fields an edit carries (absent = unchanged). */
function patch<T extends object>(row: T, fields: { [K in keyof T]?: T[K] | undefined }): T {
  const next = { ...row };
  for (const key of Object.keys(fields) as Array<keyof T>) {
    const value = fields[key];
    if (value !== undefined) next[key] = value;
  }
  return next;
}

/**
 * The settings row's id while no account is bound (signed out, first use): settings still apply locally at once,
 * and their outbox entries wait for the account. Once signed in, edits go to the account's row (its id is the
 * user's); the device-only row goes away when its entries are acknowledged and a pull completes (pending-rows.ts),
 * by which time the account's row carries them (SPEC SO41).
 */
export const LOCAL_SETTINGS_ID = '00000000-0000-0000-0000-000000000000';

/** The server's defaults (the registry's, schema/src/row-defaults.ts), for a settings row not pulled yet. */
export const DEFAULT_SETTINGS = SYNCED_TABLE_REGISTRY.user_settings.defaults;

const {
  emergency_contacts,
  emergency_incidents,
  incident_events,
  mood_entries,
  coping_tools_usage,
  screener_results,
} = SYNCED_TABLE_REGISTRY;

const APPLIERS: { [N in MutatorName]: Applier<N> } = {
  'incident.trigger@1': {
    refs: (a) => [rowRef('emergency_incidents', a.id)],
    async apply(store, a) {
      // Creation always succeeds; once the row exists, the server's copy (further along) is authoritative.
      if ((await store.get('emergency_incidents', a.id)) !== undefined) return;
      await store.put('emergency_incidents', emergency_incidents.build(a));
    },
  },
  'incident.event@1': {
    refs: (a) => [rowRef('incident_events', a.id), rowRef('emergency_incidents', a.incidentId)],
    async apply(store, a) {
      if ((await store.get('incident_events', a.id)) !== undefined) return;
      const incident = await store.get('emergency_incidents', a.incidentId);
      // The server's own state machine, so the device shows what the server will decide.
      const step = incident === undefined ? undefined : stepIncident(incident.status, a.type);
      await store.put('incident_events', incident_events.build(a, step?.outcome ?? 'applied'));
      if (incident === undefined || step === undefined || step.outcome !== 'applied') return;
      let next: IncidentRow = { ...incident, status: step.to };
      if (a.type === 'acknowledged' && incident.acknowledgedAt === null) next.acknowledgedAt = a.at;
      if (step.to !== incident.status && (step.to === 'resolved' || step.to === 'cancelled')) {
        next.resolvedAt = a.at;
      }
      if (a.location !== undefined && (incident.locatedAt ?? -1) <= a.location.at) {
        next = { ...next, ...locationColumns(a.location) };
      }
      await store.put('emergency_incidents', next);
    },
  },
  'mood.upsert@1': {
    refs: (a) => [rowRef('mood_entries', a.id)],
    async apply(store, a, ctx) {
      const row = await store.get('mood_entries', a.id);
      if (row !== undefined) {
        await store.put('mood_entries', { ...patch(row, a.fields), hlc: ctx.hlc, updatedAt: ctx.at });
        return;
      }
      // The server's builder (SPEC PU12); null without a score, so the edit waits for the server.
      const created = mood_entries.build(a, ctx);
      if (created !== null) await store.put('mood_entries', created);
    },
  },
  'mood.delete@1': {
    refs: (a) => [rowRef('mood_entries', a.id)],
    apply: (store, a) => store.delete('mood_entries', a.id),
  },
  'contact.upsert@1': {
    refs: (a) => [rowRef('emergency_contacts', a.id)],
    async apply(store, a, ctx) {
      const row = await store.get('emergency_contacts', a.id);
      if (row !== undefined) {
        const phone = a.phoneE164 === undefined ? {} : { phoneE164: a.phoneE164 };
        await store.put('emergency_contacts', {
          ...patch(row, a.fields),
          ...phone,
          hlc: ctx.hlc,
          updatedAt: ctx.at,
        });
        return;
      }
      // The row the server's insert builds (the registry's builder); null without a name or a number.
      const created = emergency_contacts.build(a, ctx);
      if (created !== null) await store.put('emergency_contacts', created);
    },
  },
  'contact.delete@1': {
    refs: (a) => [rowRef('emergency_contacts', a.id)],
    apply: (store, a) => store.delete('emergency_contacts', a.id),
  },
  'settings.update@1': {
    refs: (_a, ctx) => [rowRef('user_settings', ctx.userId ?? LOCAL_SETTINGS_ID)],
    async apply(store, a, ctx) {
      const id = ctx.userId ?? LOCAL_SETTINGS_ID;
      // An account's row not pulled yet starts from what this device set before it signed in (when `id` is
      // LOCAL_SETTINGS_ID itself, that row does not exist either, so the defaults apply).
      const row = (await store.get('user_settings', id)) ?? {
        ...DEFAULT_SETTINGS,
        ...(await store.get('user_settings', LOCAL_SETTINGS_ID)),
        id,
        version: 0,
        updatedAt: ctx.at,
      };
      // The server keeps the PIN hashes and tells devices only whether each is set.
      const { cancelPin, duressPin, name, ...fields } = a.fields;
      await store.put('user_settings', {
        ...patch(row, fields),
        // As the server keeps it: trimmed, and no name is ''.
        ...(name !== undefined && { name: name?.trim() ?? '' }),
        ...(cancelPin !== undefined && { cancelPinSet: cancelPin !== null }),
        ...(duressPin !== undefined && { duressPinSet: duressPin !== null }),
        updatedAt: ctx.at,
      });
    },
  },
  'coping.log@1': {
    refs: (a) => [rowRef('coping_tools_usage', a.id)],
    async apply(store, a) {
      if ((await store.get('coping_tools_usage', a.id)) !== undefined) return;
      await store.put('coping_tools_usage', coping_tools_usage.build(a));
    },
  },
  'screener.record@1': {
    refs: (a) => [rowRef('screener_results', a.id)],
    async apply(store, a) {
      if ((await store.get('screener_results', a.id)) !== undefined) return;
      await store.put('screener_results', screener_results.build(a));
    },
  },
  // Samples live outside the synced tables (mutators.ts keeps them in `samples` until acknowledged).
  'samples.append@1': { refs: () => [], apply: async () => {} },
  'samples.append@2': { refs: () => [], apply: async () => {} },
};

function applierFor<N extends MutatorName>(name: N): Applier<N> {
  return APPLIERS[name];
}

/** Parses `args` with the mutator's protocol schema; throws (a ZodError) on bad args. */
export function parseMutationArgs<N extends MutatorName>(name: N, args: unknown): MutatorArgs<N> {
  return MUTATORS[name].args.parse(args) as MutatorArgs<N>;
}

export function mutationRefs<N extends MutatorName>(
  name: N,
  args: MutatorArgs<N>,
  ctx: ApplyContext,
): RowRef[] {
  return applierFor(name).refs(args, ctx);
}

export function applyMutation<N extends MutatorName>(
  store: RowStore,
  name: N,
  args: MutatorArgs<N>,
  ctx: ApplyContext,
): Promise<void> {
  return applierFor(name).apply(store, args, ctx);
}

/** A mutation known by name only at run time (an outbox entry, a pushed mutation), parsed and bound to its applier. */
export interface BoundMutation {
  refs(ctx: ApplyContext): RowRef[];
  apply(store: RowStore, ctx: ApplyContext): Promise<void>;
}

/** Null when the name is unknown to this code or the args do not parse. */
export function bindMutation(name: string, args: unknown): BoundMutation | null {
  return isMutatorName(name) ? bind(name, args) : null;
}

function bind<N extends MutatorName>(name: N, raw: unknown): BoundMutation | null {
  const parsed = MUTATORS[name].args.safeParse(raw);
  if (!parsed.success) return null;
  const args = parsed.data as MutatorArgs<N>;
  const applier = applierFor(name);
  return { refs: (ctx) => applier.refs(args, ctx), apply: (store, ctx) => applier.apply(store, args, ctx) };
}
