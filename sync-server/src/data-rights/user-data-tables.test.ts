import { getTableColumns } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import {
  allTables,
  NO_USER_DATA,
  REDACTED_COLUMNS,
  unaccountedTables,
  userDataTables,
} from './user-data-tables.ts';
import { getTableConfig } from 'drizzle-orm/pg-core';

describe('the tables that hold a user’s data', () => {
  it('[DR1] every table is either derived as user data or exempt with a reason', () => {
    expect(unaccountedTables()).toEqual([]);
    const derived = userDataTables().map((t) => t.name);
    for (const name of Object.keys(NO_USER_DATA)) {
      expect(derived, `${name} is exempt and derived at once`).not.toContain(name);
      expect(NO_USER_DATA[name]?.length ?? 0).toBeGreaterThan(20);
    }
    // The tables of record today, so a wrong derivation shows here (a new table only adds to the list).
    expect(derived).toEqual(
      expect.arrayContaining([
        'users',
        'user_settings',
        'user_sessions',
        'sync_tokens',
        'activity_logs',
        'media_files',
        'emergency_contacts',
        'emergency_incidents',
        'alert_logs',
        'alert_links',
        'sensor_readings',
        'mood_entries',
        'mood_revisions',
        'system_events',
        'inbound_sms',
      ]),
    );
    expect(derived.length + Object.keys(NO_USER_DATA).length).toBe(allTables().length);
  });

  it('[DR1] children come before the tables they reference, users last', () => {
    const order = userDataTables().map((t) => t.name);
    expect(order.at(-1)).toBe('users');
    for (const table of userDataTables()) {
      for (const fk of getTableConfig(table.table).foreignKeys) {
        const parent = getTableConfig(fk.reference().foreignTable).name;
        if (parent !== table.name && order.includes(parent))
          expect(order.indexOf(table.name), `${table.name} before ${parent}`).toBeLessThan(
            order.indexOf(parent),
          );
      }
    }
  });

  it('[DR2] every redacted column exists, so a rename cannot leak a secret into the archive', () => {
    const byName = new Map(allTables().map((t) => [getTableConfig(t).name, t]));
    for (const [table, columns] of Object.entries(REDACTED_COLUMNS)) {
      const found = byName.get(table);
      expect(found, table).toBeDefined();
      const names = Object.values(found ? getTableColumns(found) : {}).map((c) => c.name);
      for (const column of Object.keys(columns)) expect(names, `${table}.${column}`).toContain(column);
    }
  });
});
