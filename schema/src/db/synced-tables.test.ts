/**
 * The registry against the database: a table of record that carries a per-user `version` holds rows that change
 * through sync, so it is either in the synced-table registry (pulled to devices) or named below with the reason it
 * is not. A new table with sync columns that nobody registered fails here (RG8).
 */
import { getTableColumns, getTableName, isTable, type Table } from 'drizzle-orm';
import { expect, it } from 'vitest';
import * as tables from './tables.ts';
import { SYNCED_TABLE_REGISTRY } from '../protocol/synced-tables.ts';

/** Versioned tables that devices do not pull, and why. */
const NOT_PULLED: Readonly<Record<string, string>> = {
  user_versions: "the user's version counter itself",
  contact_merges: 'the server maps merged contact ids to their survivors; devices hear a tombstone',
  media_files: 'evidence uploads: the device keeps its own upload queue; the server tracks the stored files',
  therapy_sessions: 'not synced yet (issue #16 adds it through the registry)',
  ai_insights: 'not synced yet (issue #16 adds it through the registry)',
};

const versioned = (Object.values(tables) as unknown[])
  .filter((value): value is Table => isTable(value))
  .filter((table) => Object.values(getTableColumns(table)).some((column) => column.name === 'version'))
  .map((table) => getTableName(table));

it('[RG8] every table with a per-user version is in the synced-table registry or named as not pulled', () => {
  expect(versioned.length).toBeGreaterThan(Object.keys(SYNCED_TABLE_REGISTRY).length);
  const unregistered = versioned.filter(
    (name) => !Object.hasOwn(SYNCED_TABLE_REGISTRY, name) && !Object.hasOwn(NOT_PULLED, name),
  );
  expect(unregistered, 'add an entry to schema/src/protocol/synced-tables.ts').toEqual([]);
});

it('[RG8] every registry table is a table of record, and none is also named as not pulled', () => {
  for (const name of Object.keys(SYNCED_TABLE_REGISTRY)) {
    expect(versioned, name).toContain(name);
    expect(Object.hasOwn(NOT_PULLED, name), name).toBe(false);
  }
});
