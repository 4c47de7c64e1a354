/**
 * A pull page as both sides hold it (changes) and its protocol-4 wire form (`PullResponse`, columnar), each into
 * the other. Encoded, sent as JSON, parsed with `PullResponse` and decoded, a page's changes come back in version
 * order (changes of one version, which are distinct rows, grouped by table); the device then checks each row with
 * its `ROW_SCHEMAS` shape as before (SPEC PL10).
 *
 * Order: the device applies a page's changes one after another, row by row. A page holds each row at most once
 * (the server reads every row's current state, live or tombstone, once per page), so no change in it depends on
 * another; decoding still restores version order, so a later change of a row would come after an earlier one.
 */
import { PROTOCOL_VERSION } from './protocol-version.ts';
import {
  rowFields,
  type Change,
  type PulledRows,
  type PulledTombstones,
  type PullResponse,
  type SyncedTable,
} from './pull-response.ts';

/** One page of changes, in version order, with the page's place in the pull. */
export type PullPage = {
  reset: boolean;
  changes: Change[];
  cursor: number;
  complete: boolean;
  serverTime: number;
};

/**
 * The columnar wire form of `page`. Rows of one table that carry the same fields share a group; a field whose
 * value is `undefined` is absent, as `JSON.stringify` would make it. Throws on a row the device could not read
 * back (a field its table does not have, a put whose version is not its row's): a server bug, never sent.
 * `protocolVersion`: the pulling client's (an answer is in its client's protocol, SPEC PV3).
 */
export function encodePullPage(page: PullPage, protocolVersion = PROTOCOL_VERSION): PullResponse {
  const groups = new Map<string, PulledRows>();
  const tombstones = new Map<SyncedTable, PulledTombstones>();
  for (const change of page.changes) {
    if (change.op === 'del') {
      const group = tombstones.get(change.table) ?? { table: change.table, ids: [], versions: [] };
      tombstones.set(change.table, group);
      group.ids.push(change.id);
      group.versions.push(change.version);
      continue;
    }
    const { table, row } = change;
    const fields = rowFields(table);
    for (const [field, value] of Object.entries(row)) {
      if (value !== undefined && !fields.includes(field)) {
        throw new Error(`pull: ${table} rows have no field ${field}`);
      }
    }
    if (row.version !== change.version) {
      throw new Error(
        `pull: a ${table} put at version ${change.version} carries a row at ${String(row.version)}`,
      );
    }
    const columns = fields.filter((field) => row[field] !== undefined);
    const key = `${table}:${columns.join(',')}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { table, columns, values: columns.map(() => []) };
      groups.set(key, group);
    }
    for (const [i, column] of columns.entries()) group.values[i]?.push(row[column]);
  }
  return {
    protocolVersion,
    reset: page.reset,
    tables: [...groups.values()],
    deleted: [...tombstones.values()],
    cursor: page.cursor,
    complete: page.complete,
    serverTime: page.serverTime,
  };
}

/**
 * The changes of a columnar page parsed with `PullResponse` (it throws only on a page that parse refuses), in
 * version order: the device applies them one after another, so a later version of a row must come after an
 * earlier one wherever the groups put them.
 */
export function decodePullPage(wire: PullResponse): PullPage {
  const changes: Change[] = [];
  for (const { table, columns, values } of wire.tables) {
    const rows = values[0]?.length ?? 0;
    for (let r = 0; r < rows; r++) {
      const row: Record<string, unknown> = {};
      for (const [i, column] of columns.entries()) row[column] = values[i]?.[r];
      const version = row.version;
      // PullResponse's parse makes every group carry an integer `version` column.
      if (typeof version !== 'number') throw new Error(`pull: a ${table} row without a version`);
      changes.push({ op: 'put', table, version, row });
    }
  }
  for (const { table, ids, versions } of wire.deleted) {
    for (const [k, id] of ids.entries()) {
      const version = versions[k];
      if (version === undefined) throw new Error(`pull: a ${table} tombstone without a version`);
      changes.push({ op: 'del', table, version, id });
    }
  }
  // Stable: changes of one version keep their order within and across groups.
  changes.sort((a, b) => a.version - b.version);
  return {
    reset: wire.reset,
    changes,
    cursor: wire.cursor,
    complete: wire.complete,
    serverTime: wire.serverTime,
  };
}
