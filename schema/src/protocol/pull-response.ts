import * as z from 'zod/mini';
import { EpochMs } from './common.ts';
import { ROW_SCHEMAS } from './rows.ts';

/** Tables pulled to devices (protocol 1). Sensor samples are never pulled back. */
export const SYNCED_TABLES = Object.keys(ROW_SCHEMAS) as Array<keyof typeof ROW_SCHEMAS>;
export const SyncedTable = z.enum(
  SYNCED_TABLES as [keyof typeof ROW_SCHEMAS, ...Array<keyof typeof ROW_SCHEMAS>],
);
export type SyncedTable = z.infer<typeof SyncedTable>;

/**
 * A row as the server has it now (`put`; its shape is `ROW_SCHEMAS[table]`, which the device checks), or its
 * tombstone (`del`).
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

export const PullResponse = z.strictObject({
  protocolVersion: z.int(),
  /**
   * `true`: the cursor is older than the tombstone horizon; the device rebuilds its synced tables from this and
   * the following pages, keeping its outbox and re-applying it afterwards.
   */
  reset: z.boolean(),
  changes: z.array(Change),
  /** Pass this as the next request's cursor. */
  cursor: z.int().check(z.minimum(0)),
  /** `false`: more pages follow at the same snapshot; ask again with `cursor`. */
  complete: z.boolean(),
  serverTime: EpochMs,
});
export type PullResponse = z.infer<typeof PullResponse>;
