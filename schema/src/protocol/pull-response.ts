import * as z from 'zod/mini';
import { EpochMs } from './common.ts';
import { ROW_SCHEMAS, SYNCED_TABLE_REGISTRY, type SyncedTableName } from './synced-tables.ts';

/** Tables pulled to devices: the registry's, in its order (RG1). Sensor samples are never pulled back. */
export const SYNCED_TABLES = Object.keys(SYNCED_TABLE_REGISTRY) as SyncedTableName[];
export const SyncedTable = z.enum(SYNCED_TABLES as [SyncedTableName, ...SyncedTableName[]]);
export type SyncedTable = z.infer<typeof SyncedTable>;

/**
 * A row as the server has it now (`put`; its shape is `ROW_SCHEMAS[table]`, which the device checks), or its
 * tombstone (`del`). Both sides hold a page as changes; only protocol 1–3 send them as such (`PullResponseV1`).
 */
export const Change = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('put'),
    table: SyncedTable,
    version: z.int(),
    row: z.record(z.string(), z.unknown()),
  }),
  z.strictObject({ op: z.literal('del'), table: SyncedTable, version: z.int(), id: z.string() }),
]);
export type Change = z.infer<typeof Change>;

const pageFields = {
  protocolVersion: z.int(),
  /**
   * `true`: the cursor is older than the tombstone horizon; the device rebuilds its synced tables from this and
   * the following pages, keeping its outbox and re-applying it afterwards.
   */
  reset: z.boolean(),
  /** Pass this as the next request's cursor. */
  cursor: z.int().check(z.minimum(0)),
  /** `false`: more pages follow at the same snapshot; ask again with `cursor`. */
  complete: z.boolean(),
  serverTime: EpochMs,
};

/** A pull page for clients of protocol 1–3: every change spelled out, ordered by version. */
export const PullResponseV1 = z.strictObject({ ...pageFields, changes: z.array(Change) });
export type PullResponseV1 = z.infer<typeof PullResponseV1>;

/** The first protocol whose pull pages are columnar (`PullResponse`); older clients get `PullResponseV1`. */
export const COLUMNAR_PULL_SINCE_PROTOCOL = 4;

type RowFields = { all: readonly string[]; required: readonly string[] };

/** A row shape's fields in order, and which of them a row must have (those whose schema refuses `undefined`). */
function fieldsOf(shape: Record<string, z.ZodMiniType>): RowFields {
  const all = Object.keys(shape);
  return { all, required: all.filter((field) => !shape[field]?.safeParse(undefined).success) };
}

const ROW_FIELDS = Object.fromEntries(
  SYNCED_TABLES.map((table) => [table, fieldsOf(ROW_SCHEMAS[table].shape)]),
) as Record<SyncedTable, RowFields>;

/** The fields of `table`'s rows in `ROW_SCHEMAS` order (a columnar page lists its columns in this order). */
export function rowFields(table: SyncedTable): readonly string[] {
  return ROW_FIELDS[table].all;
}

/**
 * Rows of one table, column by column: `values[i][r]` is field `columns[i]` of the group's row `r`. The columns are
 * the fields the rows have (every required field of `ROW_SCHEMAS[table]`, optional ones when present), each once;
 * every column holds one value per row. A put's version is its row's `version`. A table may come in several groups
 * when its rows differ in which optional fields they carry. The device still checks each row with its
 * `ROW_SCHEMAS` shape.
 */
export const PulledRows = z
  .strictObject({
    table: SyncedTable,
    columns: z.array(z.string()),
    values: z.array(z.array(z.unknown())),
  })
  .check(
    z.superRefine((group, ctx) => {
      const fields = ROW_FIELDS[group.table];
      const issue = (message: string, path: PropertyKey[]) =>
        ctx.addIssue({ code: 'custom', message, path, input: group });
      group.columns.forEach((column, i) => {
        if (!fields.all.includes(column)) {
          issue(`${column} is not a column of ${group.table}`, ['columns', i]);
        } else if (group.columns.indexOf(column) !== i) {
          issue(`column ${column} appears twice`, ['columns', i]);
        }
      });
      for (const field of fields.required) {
        if (!group.columns.includes(field)) issue(`${group.table} needs the column ${field}`, ['columns']);
      }
      if (group.values.length !== group.columns.length) {
        issue(`${group.values.length} value arrays for ${group.columns.length} columns`, ['values']);
      }
      const rows = group.values[0]?.length ?? 0;
      group.values.forEach((column, i) => {
        if (column.length !== rows) {
          issue(`${column.length} values where column 0 has ${rows}`, ['values', i]);
        }
      });
      const versionAt = group.columns.indexOf('version');
      const badVersion =
        group.values[versionAt]?.findIndex((version) => !Number.isSafeInteger(version)) ?? -1;
      if (badVersion >= 0) issue('a version must be an integer', ['values', versionAt, badVersion]);
    }),
  );
export type PulledRows = z.infer<typeof PulledRows>;

/** One table's tombstones: row `ids[k]` was deleted at version `versions[k]`. */
export const PulledTombstones = z
  .strictObject({ table: SyncedTable, ids: z.array(z.string()), versions: z.array(z.int()) })
  .check(
    z.refine((group) => group.ids.length === group.versions.length, {
      message: 'ids and versions must have the same length',
      path: ['versions'],
    }),
  );
export type PulledTombstones = z.infer<typeof PulledTombstones>;

/**
 * A pull page for clients of protocol 4 and later (SPEC PL10): the rows column by column, per table, and the
 * tombstones as ids and versions, per table. Far smaller than `changes` even under gzip, which does not remove
 * the repeated field names and versions. `decodePullPage` (pull-page.ts) turns it back into changes in version
 * order.
 */
export const PullResponse = z.strictObject({
  ...pageFields,
  tables: z.array(PulledRows),
  deleted: z.array(PulledTombstones),
});
export type PullResponse = z.infer<typeof PullResponse>;
