/**
 * The synced-table registry (SPEC RG1–RG12, ADR 0026): per table that devices hold, everything the device and the
 * server must agree on, in one entry. The rest derives from it:
 *
 * - `row`: the row's strict shape as pull delivers it and the device stores it (rows.ts); pull pages, the device's
 *   parse and the wire-shape snapshot use it.
 * - `pulled`: the explicit whitelist of fields pull sends, each with the first protocol that gets it. Pull keeps
 *   only these (sync-server pulled-tables.ts), so a server-only column reaches a device only by being named here,
 *   and an older app never meets a field its strict shape refuses (SPEC PV2).
 * - `indexes`: the Dexie indexes beside the key `id` (web/src/sync/local-db.ts builds its stores from them).
 * - `defaults`: what a new row holds where nobody said otherwise (row-defaults.ts is their one home).
 * - `conflict`: how concurrent writes meet; `deletable`: the table has tombstones that the horizon job purges
 *   (sync-server purge-tombstones.ts); `localDbVersion`: the device database version that adds its store.
 * - `build`: the one row builder for a row a mutation creates from its arguments. The device's applier and the
 *   server's insert both call it, so the device's own copy is what pull would send (own-row confirmation, PU12).
 *
 * Adding a synced table: an entry here (and its row shape in rows.ts), its drizzle table, its mutator, the
 * migration, and their tests. ARCHITECTURE.md "Adding a synced table" lists the files.
 */
import type * as z from 'zod/mini';
import type { MutatorArgs } from './mutators.ts';
import {
  AlertLogRow,
  ContactRow,
  CopingRow,
  IncidentEventRow,
  IncidentRow,
  MoodRow,
  ScreenerResultRow,
  SettingsRow,
} from './rows.ts';
import { screenerTotal } from '../screeners/screener-shape.ts';
import { CONTACT_DEFAULTS, SETTINGS_DEFAULTS } from '../row-defaults.ts';

/**
 * How concurrent writes to a row meet.
 * - `field-lww`: each field is last-writer-wins by the edit's HLC; the server keeps field clocks (`field_clocks`).
 * - `first-write`: a row is written once, from its creating mutation; a repeat of the id is a no-op.
 * - `state-machine`: the server's state machine decides (incident-machine.ts); devices predict it.
 * - `server`: only the server writes the row; devices read it.
 */
export type ConflictRule = 'field-lww' | 'first-write' | 'state-machine' | 'server';

/** What a builder is stamped with: the mutation's HLC and its time (the device's clock, or the server's now). */
export type BuildStamp = { readonly hlc: string; readonly at: number };

export type SyncedTableEntry<Row extends z.ZodMiniObject> = {
  readonly row: Row;
  /** Every field of the row, with the first protocol version whose pulls carry it. */
  readonly pulled: { readonly [K in keyof z.infer<Row>]-?: number };
  /** Dexie indexes beside the primary key `id` (which every synced table has). */
  readonly indexes: ReadonlyArray<keyof z.infer<Row> & string>;
  readonly defaults: Partial<z.infer<Row>>;
  readonly conflict: ConflictRule;
  readonly deletable: boolean;
  /**
   * The device database version (web/src/sync/local-db.ts) that first has this table: a new table takes the next
   * one, and local-db adds that version for it. Never change it once shipped.
   */
  readonly localDbVersion: number;
  /** The row a creating mutation makes from its arguments (tables only the server creates have none). */
  readonly build?: (...args: never[]) => z.infer<Row> | null;
};

type LocationArgs = MutatorArgs<'incident.trigger@1'>['location'];

/** A location as the rows hold it (all four null when the mutation carried none). */
export function locationColumns(location: LocationArgs) {
  return {
    latitude: location?.lat ?? null,
    longitude: location?.lng ?? null,
    accuracyMeters: location?.accuracyM ?? null,
    locatedAt: location?.at ?? null,
  };
}

const LOCATION_PULLED = { latitude: 1, longitude: 1, accuracyMeters: 1, locatedAt: 1 } as const;

/** The first protocol whose contact rows carry `appLinked` (protocol-version.ts, history 3). */
export const APP_LINKED_SINCE_PROTOCOL = 3;
/** The first protocol whose settings rows carry name, emergency number, region and silent SOS (SPEC SO40). */
export const SOS_SETTINGS_SINCE_PROTOCOL = 6;
/** The first protocol whose coping-use rows carry the distress ratings, 0–10 before and after (SPEC WB21). */
export const COPING_DISTRESS_SINCE_PROTOCOL = 7;

const userSettings = {
  row: SettingsRow,
  pulled: {
    id: 1,
    version: 1,
    sosCountdownSeconds: 1,
    cancelPinSet: 1,
    duressPinSet: 1,
    autoRecordAudioSeconds: 1,
    shareMediaWithContacts: 1,
    shareLocationWithContacts: 1,
    escalateTier2AfterSeconds: 1,
    escalateAllAfterSeconds: 1,
    updatedAt: 1,
    name: SOS_SETTINGS_SINCE_PROTOCOL,
    emergencyNumber: SOS_SETTINGS_SINCE_PROTOCOL,
    region: SOS_SETTINGS_SINCE_PROTOCOL,
    silentSos: SOS_SETTINGS_SINCE_PROTOCOL,
  },
  indexes: [],
  defaults: { cancelPinSet: false, duressPinSet: false, ...SETTINGS_DEFAULTS },
  conflict: 'field-lww',
  deletable: false,
  localDbVersion: 1,
} as const satisfies SyncedTableEntry<typeof SettingsRow>;

const emergencyContacts = {
  row: ContactRow,
  pulled: {
    id: 1,
    version: 1,
    name: 1,
    phoneE164: 1,
    relationship: 1,
    tier: 1,
    notifyBySms: 1,
    shareLocation: 1,
    notes: 1,
    hlc: 1,
    updatedAt: 1,
    appLinked: APP_LINKED_SINCE_PROTOCOL,
  },
  indexes: [],
  defaults: CONTACT_DEFAULTS,
  conflict: 'field-lww',
  deletable: true,
  localDbVersion: 1,
  /** A new contact from `contact.upsert@1` (null without a name or a number: the edit then waits for the server). */
  build(args: MutatorArgs<'contact.upsert@1'>, stamp: BuildStamp): ContactRow | null {
    const { name, ...fields } = args.fields;
    if (name === undefined || args.phoneE164 === undefined) return null;
    return {
      id: args.id,
      version: 0,
      name,
      phoneE164: args.phoneE164,
      relationship: fields.relationship ?? CONTACT_DEFAULTS.relationship,
      tier: fields.tier ?? CONTACT_DEFAULTS.tier,
      notifyBySms: fields.notifyBySms ?? CONTACT_DEFAULTS.notifyBySms,
      shareLocation: fields.shareLocation ?? CONTACT_DEFAULTS.shareLocation,
      notes: fields.notes ?? CONTACT_DEFAULTS.notes,
      hlc: stamp.hlc,
      updatedAt: stamp.at,
    };
  },
} as const satisfies SyncedTableEntry<typeof ContactRow>;

const emergencyIncidents = {
  row: IncidentRow,
  pulled: {
    id: 1,
    version: 1,
    code: 1,
    trigger: 1,
    status: 1,
    triggeredAt: 1,
    receivedAt: 1,
    acknowledgedAt: 1,
    resolvedAt: 1,
    ...LOCATION_PULLED,
  },
  indexes: ['triggeredAt'],
  defaults: { status: 'active', receivedAt: null, acknowledgedAt: null, resolvedAt: null },
  conflict: 'state-machine',
  deletable: true,
  localDbVersion: 1,
  /**
   * A new incident from `incident.trigger@1`, as the device predicts it. The server stamps `receivedAt` and may
   * replace a code already in use (CL19), so it never confirms this row unseen (PU12).
   */
  build(args: MutatorArgs<'incident.trigger@1'>): IncidentRow {
    return {
      id: args.id,
      version: 0,
      code: args.code,
      trigger: args.trigger,
      status: 'active',
      triggeredAt: args.triggeredAt,
      receivedAt: null,
      acknowledgedAt: null,
      resolvedAt: null,
      ...locationColumns(args.location),
    };
  },
} as const satisfies SyncedTableEntry<typeof IncidentRow>;

const incidentEvents = {
  row: IncidentEventRow,
  pulled: { id: 1, version: 1, incidentId: 1, type: 1, at: 1, outcome: 1, ...LOCATION_PULLED },
  indexes: ['incidentId'],
  defaults: {},
  conflict: 'first-write',
  deletable: false,
  localDbVersion: 1,
  /** An incident event from `incident.event@1`, with the outcome the incident's state machine gave it. */
  build(args: MutatorArgs<'incident.event@1'>, outcome: IncidentEventRow['outcome']): IncidentEventRow {
    return {
      id: args.id,
      version: 0,
      incidentId: args.incidentId,
      type: args.type,
      at: args.at,
      outcome,
      ...locationColumns(args.location),
    };
  },
} as const satisfies SyncedTableEntry<typeof IncidentEventRow>;

const alertLogs = {
  row: AlertLogRow,
  pulled: {
    id: 1,
    version: 1,
    incidentId: 1,
    contactId: 1,
    channel: 1,
    messageKind: 1,
    status: 1,
    statusHistory: 1,
    errorCode: 1,
    response: 1,
    respondedAt: 1,
    updatedAt: 1,
  },
  indexes: ['incidentId'],
  defaults: {},
  conflict: 'server',
  deletable: true,
  localDbVersion: 1,
} as const satisfies SyncedTableEntry<typeof AlertLogRow>;

const moodEntries = {
  row: MoodRow,
  pulled: {
    id: 1,
    version: 1,
    recordedAt: 1,
    mood: 1,
    energy: 1,
    anxiety: 1,
    sleepHours: 1,
    emotions: 1,
    note: 1,
    hlc: 1,
    updatedAt: 1,
  },
  indexes: ['recordedAt'],
  defaults: { energy: null, anxiety: null, sleepHours: null, emotions: [], note: null },
  conflict: 'field-lww',
  deletable: true,
  localDbVersion: 1,
  /** A new entry from `mood.upsert@1` (null without a mood score: the edit then waits for the server). */
  build(args: MutatorArgs<'mood.upsert@1'>, stamp: BuildStamp): MoodRow | null {
    const { fields } = args;
    if (fields.mood === undefined) return null;
    return {
      id: args.id,
      version: 0,
      recordedAt: args.recordedAt,
      mood: fields.mood,
      energy: fields.energy ?? null,
      anxiety: fields.anxiety ?? null,
      sleepHours: fields.sleepHours ?? null,
      emotions: fields.emotions ?? [],
      note: fields.note ?? null,
      hlc: stamp.hlc,
      updatedAt: stamp.at,
    };
  },
} as const satisfies SyncedTableEntry<typeof MoodRow>;

const copingToolsUsage = {
  row: CopingRow,
  pulled: {
    id: 1,
    version: 1,
    tool: 1,
    startedAt: 1,
    durationSeconds: 1,
    completed: 1,
    moodBefore: 1,
    moodAfter: 1,
    helpfulness: 1,
    distressBefore: COPING_DISTRESS_SINCE_PROTOCOL,
    distressAfter: COPING_DISTRESS_SINCE_PROTOCOL,
  },
  indexes: ['startedAt'],
  defaults: {
    durationSeconds: null,
    moodBefore: null,
    moodAfter: null,
    helpfulness: null,
    distressBefore: null,
    distressAfter: null,
  },
  conflict: 'first-write',
  deletable: true,
  localDbVersion: 1,
  /** One use of a coping tool from `coping.log@1`. */
  build(args: MutatorArgs<'coping.log@1'>): CopingRow {
    return {
      id: args.id,
      version: 0,
      tool: args.tool,
      startedAt: args.startedAt,
      durationSeconds: args.durationSeconds ?? null,
      completed: args.completed,
      moodBefore: args.moodBefore ?? null,
      moodAfter: args.moodAfter ?? null,
      helpfulness: args.helpfulness ?? null,
      distressBefore: args.distressBefore ?? null,
      distressAfter: args.distressAfter ?? null,
    };
  },
} as const satisfies SyncedTableEntry<typeof CopingRow>;

/** The first protocol that pulls and pushes check-in questionnaire results (SPEC WB40). */
export const SCREENERS_SINCE_PROTOCOL = 7;

const screenerResults = {
  row: ScreenerResultRow,
  pulled: {
    id: SCREENERS_SINCE_PROTOCOL,
    version: SCREENERS_SINCE_PROTOCOL,
    screener: SCREENERS_SINCE_PROTOCOL,
    answers: SCREENERS_SINCE_PROTOCOL,
    total: SCREENERS_SINCE_PROTOCOL,
    completedAt: SCREENERS_SINCE_PROTOCOL,
  },
  indexes: ['completedAt'],
  defaults: {},
  conflict: 'first-write',
  deletable: false,
  localDbVersion: 2,
  /** A result from `screener.record@1`: the total is added up here, on the device and on the server alike. */
  build(args: MutatorArgs<'screener.record@1'>): ScreenerResultRow {
    return {
      id: args.id,
      version: 0,
      screener: args.screener,
      answers: [...args.answers],
      total: screenerTotal(args.answers),
      completedAt: args.completedAt,
    };
  },
} as const satisfies SyncedTableEntry<typeof ScreenerResultRow>;

/**
 * Every table devices hold, by its name in Postgres, in the order pulls list them. Never reorder: the order is
 * part of the wire shape (the `SyncedTable` enum).
 */
export const SYNCED_TABLE_REGISTRY = {
  user_settings: userSettings,
  emergency_contacts: emergencyContacts,
  emergency_incidents: emergencyIncidents,
  incident_events: incidentEvents,
  alert_logs: alertLogs,
  mood_entries: moodEntries,
  coping_tools_usage: copingToolsUsage,
  screener_results: screenerResults,
} as const;

export type SyncedTableName = keyof typeof SYNCED_TABLE_REGISTRY;

/** Each synced table's row shape, by the table's name (RG1). */
export const ROW_SCHEMAS = Object.fromEntries(
  Object.entries(SYNCED_TABLE_REGISTRY).map(([table, entry]) => [table, entry.row]),
) as { readonly [T in SyncedTableName]: (typeof SYNCED_TABLE_REGISTRY)[T]['row'] };

/** A synced table's row type, from its registry entry. */
export type RowOf<T extends SyncedTableName> = z.infer<(typeof SYNCED_TABLE_REGISTRY)[T]['row']>;

/** The fields pull sends of `table` to a client of `protocolVersion` (RG3). */
export function pulledFields(table: SyncedTableName, protocolVersion: number): string[] {
  const pulled: Readonly<Record<string, number>> = SYNCED_TABLE_REGISTRY[table].pulled;
  return Object.keys(pulled).filter((field) => (pulled[field] ?? Infinity) <= protocolVersion);
}

/**
 * `row` with only the fields pull sends to a client of `protocolVersion` (RG3): the server serializes a row, then
 * this keeps the whitelist.
 */
export function pickPulled<T extends SyncedTableName>(
  table: T,
  row: Record<string, unknown>,
  protocolVersion: number,
): RowOf<T> {
  const out: Record<string, unknown> = {};
  for (const field of pulledFields(table, protocolVersion)) {
    if (field in row) out[field] = row[field];
  }
  return out as RowOf<T>;
}
