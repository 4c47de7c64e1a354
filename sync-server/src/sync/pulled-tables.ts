/**
 * The synced tables as pull reads them: which rows (the user's, by version range, with or without tombstones) and
 * how each row goes on the wire (ROW_SCHEMAS in `schema/`: camelCase, times as epoch ms). One reader per table of
 * the registry (`schema/src/protocol/synced-tables.ts`; a registry table without one does not compile). Each
 * serializer lists its fields one by one, and pull then keeps only the registry's `pulled` whitelist for the
 * client's protocol (RG3), so server-only columns (`silent_escalation`, `duress`, PIN hashes, provider ids) reach
 * a device only by being named in both places, and the row types from `schema/` refuse unknown keys.
 *
 * A field added in a later protocol goes only to clients that pull with that protocol or later (the whitelist
 * says which): an installed app parses rows with its own strict shapes, and an unknown key would make it refuse
 * the whole page (SPEC PV2).
 */
import { and, asc, getTableColumns, gt, isNull, lte, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { UserId } from '@vitalwatch/schema/ids';
import {
  alertLogs,
  copingToolsUsage,
  screenerResults,
  emergencyContacts,
  emergencyIncidents,
  incidentEvents,
  moodEntries,
  userSettings,
  users,
} from '@vitalwatch/schema/db/tables';
import { SYNCED_TABLES, type Change, type SyncedTable } from '@vitalwatch/schema/protocol/pull-response';
import { pickPulled } from '@vitalwatch/schema/protocol/synced-tables';
import type {
  AlertLogRow,
  ContactRow,
  CopingRow,
  ScreenerResultRow,
  IncidentEventRow,
  IncidentRow,
  MoodRow,
  SettingsRow,
} from '@vitalwatch/schema/protocol/rows';
import type { Tx } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';

/**
 * Rows with `after < version <= upTo` and a version in none of the `skip` ranges (the device holds those rows
 * already, PL11); tombstones only when `tombstones` (a device starting from nothing needs none).
 */
export type VersionRange = {
  userId: UserId;
  after: number;
  upTo: number;
  tombstones: boolean;
  skip?: ReadonlyArray<readonly [number, number]>;
};

/** `skip` as a Postgres multirange literal, e.g. `{[3,7],[12,12]}` (integers checked by the protocol's schema). */
function multirange(skip: ReadonlyArray<readonly [number, number]>): string {
  return `{${skip.map(([from, to]) => `[${Math.trunc(from)},${Math.trunc(to)}]`).join(',')}}`;
}

type SyncColumns = { userId: AnyPgColumn; version: AnyPgColumn; deletedAt?: AnyPgColumn };

function inRange(columns: SyncColumns, range: VersionRange): SQL | undefined {
  return and(
    sql`${columns.userId} = ${range.userId}`,
    gt(columns.version, range.after),
    lte(columns.version, range.upTo),
    columns.deletedAt === undefined || range.tombstones ? undefined : isNull(columns.deletedAt),
    range.skip === undefined || range.skip.length === 0
      ? undefined
      : sql`not (${multirange(range.skip)}::int8multirange @> ${columns.version}::int8)`,
  );
}

const ms = (date: Date) => date.getTime();
const msOrNull = (date: Date | null) => (date === null ? null : date.getTime());

/** A row's change for a client of `protocolVersion`: the row cut to the registry's whitelist, or its tombstone. */
function change<R extends { id: string; version: number }>(
  table: SyncedTable,
  protocolVersion: number,
  deletedAt: Date | null,
  row: R,
): Change {
  return deletedAt === null
    ? { op: 'put', table, version: row.version, row: pickPulled(table, row, protocolVersion) }
    : { op: 'del', table, version: row.version, id: row.id };
}

type PulledTable = {
  /** The drizzle table. */
  columns: SyncColumns;
  /** `protocolVersion`: the pulling client's, which decides the fields its rows may carry. */
  read(tx: Tx, range: VersionRange, protocolVersion: number): Promise<Change[]>;
};

/** Every registry table's reader, by name. */
const READERS: { readonly [T in SyncedTable]: PulledTable } = {
  user_settings: {
    columns: userSettings,
    async read(tx, range, protocolVersion) {
      // The name and the emergency number live on the profile (users), where the alert text reads them; the
      // settings row's version moves whenever either changes (settings-update.ts, profile-routes.ts).
      const rows = await tx
        .select({
          settings: userSettings,
          name: users.displayName,
          emergencyNumber: users.emergencyNumber,
        })
        .from(userSettings)
        .innerJoin(users, sql`${users.id} = ${userSettings.userId}`)
        .where(inRange(userSettings, range));
      return rows.map(({ settings: r, name, emergencyNumber }) =>
        change('user_settings', protocolVersion, r.deletedAt, {
          id: r.userId,
          version: r.version,
          sosCountdownSeconds: r.sosCountdownSeconds,
          cancelPinSet: r.cancelPinHash !== null,
          duressPinSet: r.duressPinHash !== null,
          autoRecordAudioSeconds: r.autoRecordAudioSeconds,
          shareMediaWithContacts: r.shareMediaWithContacts,
          shareLocationWithContacts: r.shareLocationWithContacts,
          escalateTier2AfterSeconds: r.escalateTier2AfterSeconds,
          escalateAllAfterSeconds: r.escalateAllAfterSeconds,
          updatedAt: ms(r.updatedAt),
          name: name ?? '',
          emergencyNumber,
          region: r.region,
          silentSos: r.silentSos,
        } satisfies Required<SettingsRow>),
      );
    },
  },
  emergency_contacts: {
    columns: emergencyContacts,
    async read(tx, range, protocolVersion) {
      const rows = await tx.select().from(emergencyContacts).where(inRange(emergencyContacts, range));
      return rows.map((r) =>
        change('emergency_contacts', protocolVersion, r.deletedAt, {
          id: r.id,
          version: r.version,
          name: r.name,
          phoneE164: r.phoneE164,
          relationship: r.relationship,
          tier: r.tier,
          notifyBySms: r.notifyBySms,
          shareLocation: r.shareLocation,
          notes: r.notes,
          hlc: r.hlc,
          updatedAt: ms(r.updatedAt),
          // Whether the contact gets alerts in the app, never which account: the owner typed in a phone number.
          appLinked: r.contactUserId !== null,
        } satisfies Required<ContactRow>),
      );
    },
  },
  emergency_incidents: {
    columns: emergencyIncidents,
    async read(tx, range, protocolVersion) {
      const rows = await tx.select().from(emergencyIncidents).where(inRange(emergencyIncidents, range));
      return rows.map((r) =>
        change('emergency_incidents', protocolVersion, r.deletedAt, {
          id: r.id,
          version: r.version,
          code: r.code,
          trigger: r.trigger,
          status: r.status,
          triggeredAt: ms(r.triggeredAt),
          receivedAt: ms(r.receivedAt),
          acknowledgedAt: msOrNull(r.acknowledgedAt),
          resolvedAt: msOrNull(r.resolvedAt),
          latitude: r.latitude,
          longitude: r.longitude,
          accuracyMeters: r.accuracyMeters,
          locatedAt: msOrNull(r.locatedAt),
        } satisfies Required<IncidentRow>),
      );
    },
  },
  incident_events: {
    columns: incidentEvents,
    async read(tx, range, protocolVersion) {
      const rows = await tx.select().from(incidentEvents).where(inRange(incidentEvents, range));
      return rows.map((r) =>
        change('incident_events', protocolVersion, null, {
          id: r.id,
          version: r.version,
          incidentId: r.incidentId,
          type: r.type as IncidentEventRow['type'],
          at: ms(r.at),
          outcome: r.outcome as IncidentEventRow['outcome'],
          latitude: r.latitude,
          longitude: r.longitude,
          accuracyMeters: r.accuracyMeters,
          locatedAt: msOrNull(r.locatedAt),
        } satisfies Required<IncidentEventRow>),
      );
    },
  },
  alert_logs: {
    columns: alertLogs,
    async read(tx, range, protocolVersion) {
      // A cancelled incident has no ledger on devices, whether the cancel was plain or under duress (AL29, AL6):
      // its rows are tombstones, sent where tombstones go (the cancel re-stamped them, incident-event.ts) and left
      // out of a pull from nothing. So a device that follows its cursor and a fresh install hold the same ledger,
      // and neither can tell a duress cancel (which keeps escalating) from a plain one (which sends all-clears).
      const cancelled = sql<boolean>`exists (select 1 from emergency_incidents i
                                     where i.id = ${alertLogs.incidentId} and i.status = 'cancelled')`;
      const rows = await tx
        .select({ ...getTableColumns(alertLogs), cancelled })
        .from(alertLogs)
        .where(and(inRange(alertLogs, range), range.tombstones ? undefined : sql`not ${cancelled}`));
      return rows.map((r) =>
        change('alert_logs', protocolVersion, r.cancelled ? (r.deletedAt ?? r.updatedAt) : r.deletedAt, {
          id: r.id,
          version: r.version,
          incidentId: r.incidentId,
          contactId: r.contactId,
          channel: r.channel,
          messageKind: r.messageKind,
          status: r.status,
          statusHistory: r.statusHistory.map((entry) => ({ status: entry.status, at: entry.at })),
          errorCode: r.errorCode,
          response: r.response,
          respondedAt: msOrNull(r.respondedAt),
          updatedAt: ms(r.updatedAt),
        } satisfies Required<AlertLogRow>),
      );
    },
  },
  mood_entries: {
    columns: moodEntries,
    async read(tx, range, protocolVersion) {
      const rows = await tx.select().from(moodEntries).where(inRange(moodEntries, range));
      return rows.map((r) =>
        change('mood_entries', protocolVersion, r.deletedAt, {
          id: r.id,
          version: r.version,
          recordedAt: ms(r.recordedAt),
          mood: r.mood,
          energy: r.energy,
          anxiety: r.anxiety,
          sleepHours: r.sleepHours,
          emotions: r.emotions,
          note: r.note,
          hlc: r.hlc,
          updatedAt: ms(r.updatedAt),
        } satisfies Required<MoodRow>),
      );
    },
  },
  coping_tools_usage: {
    columns: copingToolsUsage,
    async read(tx, range, protocolVersion) {
      const rows = await tx.select().from(copingToolsUsage).where(inRange(copingToolsUsage, range));
      return rows.map((r) =>
        change('coping_tools_usage', protocolVersion, r.deletedAt, {
          id: r.id,
          version: r.version,
          tool: r.tool,
          startedAt: ms(r.startedAt),
          durationSeconds: r.durationSeconds,
          completed: r.completed,
          moodBefore: r.moodBefore,
          moodAfter: r.moodAfter,
          helpfulness: r.helpfulness,
          distressBefore: r.distressBefore,
          distressAfter: r.distressAfter,
        } satisfies Required<CopingRow>),
      );
    },
  },
  screener_results: {
    columns: screenerResults,
    async read(tx, range, protocolVersion) {
      const rows = await tx.select().from(screenerResults).where(inRange(screenerResults, range));
      return rows.map((r) =>
        change('screener_results', protocolVersion, r.deletedAt, {
          id: r.id,
          version: r.version,
          screener: r.screener,
          answers: r.answers,
          total: r.total,
          completedAt: ms(r.completedAt),
        } satisfies Required<ScreenerResultRow>),
      );
    },
  },
};

/** The readers in the registry's order (pull reads one table after another). */
export const PULLED_TABLES: ReadonlyArray<PulledTable & { name: SyncedTable }> = SYNCED_TABLES.map(
  (name) => ({
    name,
    ...READERS[name],
  }),
);

/**
 * The versions of the first `count` changes after `range.after` (up to `range.upTo`), across every synced table,
 * in order: where the page boundary falls.
 */
export async function firstVersions(tx: Tx, range: VersionRange, count: number): Promise<number[]> {
  const selects = PULLED_TABLES.map(
    (t) =>
      sql`(select ${t.columns.version} as version from ${sql.identifier(t.name)} where ${inRange(t.columns, range)} order by ${asc(t.columns.version)} limit ${count})`,
  );
  const rows = await queryRows<{ version: number | string }>(
    tx,
    sql`select version from (${sql.join(selects, sql` union all `)}) as v order by version limit ${count}`,
  );
  // bigint arrives as a string from node-postgres in a raw query.
  return rows.map((row) => Number(row.version));
}
