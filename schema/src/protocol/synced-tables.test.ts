import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { newId } from '../ids.ts';
import { MIN_SUPPORTED_PROTOCOL_VERSION, PROTOCOL_VERSION } from './protocol-version.ts';
import { SYNCED_TABLES, SyncedTable } from './pull-response.ts';
import {
  pickPulled,
  pulledFields,
  ROW_SCHEMAS,
  SYNCED_TABLE_REGISTRY,
  type SyncedTableName,
} from './synced-tables.ts';

const entries = Object.entries(SYNCED_TABLE_REGISTRY) as Array<
  [SyncedTableName, (typeof SYNCED_TABLE_REGISTRY)[SyncedTableName]]
>;
const stamp = { hlc: '1765000000000-0000-d1', at: 1_765_000_000_000 };

describe('the synced-table registry', () => {
  it('[RG1] the synced tables, their order and their row shapes are the registry’s', () => {
    expect(SYNCED_TABLES).toEqual(Object.keys(SYNCED_TABLE_REGISTRY));
    expect(SyncedTable.options).toEqual(Object.keys(SYNCED_TABLE_REGISTRY));
    for (const [table, entry] of entries) expect(ROW_SCHEMAS[table]).toBe(entry.row);
  });

  it('[RG2] each pulled whitelist names every field of the row, and a field a row must have goes to every client that pulls the table', () => {
    for (const [table, entry] of entries) {
      const shape = entry.row.shape as Record<string, z.ZodMiniType>;
      expect(Object.keys(entry.pulled), table).toEqual(Object.keys(shape));
      for (const [field, since] of Object.entries(entry.pulled) as Array<[string, number]>) {
        expect(since, `${table}.${field}`).toBeGreaterThanOrEqual(1);
        expect(since, `${table}.${field}`).toBeLessThanOrEqual(PROTOCOL_VERSION);
        // A field sent only to clients newer than those that pull its table must be optional, or rows stored
        // from older pulls would not parse. (A table first pulled by protocol n is never pulled by older ones.)
        if (since > Math.max(MIN_SUPPORTED_PROTOCOL_VERSION, entry.pulled.id)) {
          expect(shape[field]?.safeParse(undefined).success, `${table}.${field}`).toBe(true);
        }
      }
    }
  });

  it('[RG3] pull keeps only the fields the client’s protocol gets', () => {
    const contact = { id: newId(), version: 3, appLinked: true, secret: 'x' };
    expect(pickPulled('emergency_contacts', contact, 2)).toEqual({ id: contact.id, version: 3 });
    expect(pickPulled('emergency_contacts', contact, 3)).toEqual({
      id: contact.id,
      version: 3,
      appLinked: true,
    });
    expect(pulledFields('user_settings', 5)).not.toContain('silentSos');
    expect(pulledFields('user_settings', 6)).toContain('silentSos');
  });

  it('[RG4] Dexie indexes name fields of the row, and defaults are valid values of their fields', () => {
    for (const [table, entry] of entries) {
      const shape = entry.row.shape as Record<string, z.ZodMiniType>;
      for (const index of entry.indexes) expect(Object.keys(shape), table).toContain(index);
      for (const [field, value] of Object.entries(entry.defaults)) {
        expect(shape[field]?.safeParse(value).success, `${table}.${field}`).toBe(true);
      }
    }
  });

  it('[RG5] only tables with tombstones are deletable; settings and the incident event log are not', () => {
    const deletable = entries.filter(([, entry]) => entry.deletable).map(([table]) => table);
    expect(deletable).toEqual([
      'emergency_contacts',
      'emergency_incidents',
      'alert_logs',
      'mood_entries',
      'coping_tools_usage',
    ]);
  });

  it('[RG7] each row builder makes a row its table’s shape accepts, with version 0 and the defaults', () => {
    const registry = SYNCED_TABLE_REGISTRY;
    const id = newId();
    const rows = {
      emergency_contacts: registry.emergency_contacts.build(
        { id, fields: { name: 'Sam' }, phoneE164: '+15550100042' },
        stamp,
      ),
      emergency_incidents: registry.emergency_incidents.build({
        id,
        code: 'AB12',
        trigger: 'panic_button',
        triggeredAt: stamp.at,
      }),
      incident_events: registry.incident_events.build(
        { id, incidentId: newId(), type: 'acknowledged', at: stamp.at },
        'applied',
      ),
      mood_entries: registry.mood_entries.build({ id, recordedAt: stamp.at, fields: { mood: 3 } }, stamp),
      coping_tools_usage: registry.coping_tools_usage.build({
        id,
        tool: 'box_breathing',
        startedAt: stamp.at,
        completed: true,
      }),
    };
    for (const [table, row] of Object.entries(rows) as Array<[SyncedTableName, unknown]>) {
      expect(z.safeParse(ROW_SCHEMAS[table], row).success, table).toBe(true);
      expect(row, table).toMatchObject({ id, version: 0, ...SYNCED_TABLE_REGISTRY[table].defaults });
    }
    // Without what a new row needs, there is no row: the edit waits for the server.
    expect(
      registry.mood_entries.build({ id, recordedAt: stamp.at, fields: { note: 'x' } }, stamp),
    ).toBeNull();
    expect(registry.emergency_contacts.build({ id, fields: { name: 'Sam' } }, stamp)).toBeNull();
  });
});
