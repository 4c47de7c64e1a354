import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import {
  bindUser,
  LOCAL_DB_VERSIONS,
  openLocalDb,
  readMeta,
  rewriteOutbox,
  rewriteRows,
  type LocalDbVersion,
} from './local-db.ts';
import { createMutators } from './mutators.ts';
import { SYNCED_TABLE_REGISTRY } from '@vitalwatch/schema/protocol/synced-tables';
import { TEST_USER_ID, TestClock } from '../../test-support/test-device.ts';

let dbCount = 0;
const uniqueName = () => `local-db-test-${++dbCount}`;

const LATEST_VERSION = Math.max(...LOCAL_DB_VERSIONS.map((v) => v.version));

describe('local database', () => {
  it('[RG4] its synced stores are generated from the registry: the key `id` and each table’s indexes', async () => {
    const db = openLocalDb({ name: uniqueName() });
    await db.open();
    const synced = Object.fromEntries(
      db.tables
        .filter((table) => Object.hasOwn(SYNCED_TABLE_REGISTRY, table.name))
        .map((table) => [
          table.name,
          [table.schema.primKey.name, ...table.schema.indexes.map((i) => i.name)],
        ]),
    );
    expect(synced).toEqual(
      Object.fromEntries(
        Object.entries(SYNCED_TABLE_REGISTRY).map(([table, entry]) => [table, ['id', ...entry.indexes]]),
      ),
    );
    const latest = Math.max(...Object.values(SYNCED_TABLE_REGISTRY).map((entry) => entry.localDbVersion));
    expect(LOCAL_DB_VERSIONS.at(-1)?.version).toBeGreaterThanOrEqual(latest);
    await db.delete();
  });

  it('[RG6][CL1] a synced table reached by name is read-only: a write on it does not compile', async () => {
    const db = openLocalDb({ name: uniqueName() });
    const reads = async () => {
      await db.mood_entries.get('x');
      await db.emergency_contacts.where('id').equals('x').toArray();
    };
    const writes = async () => {
      // @ts-expect-error screens read synced rows; they write them only through the mutators (CL1)
      await db.mood_entries.put({});
      // @ts-expect-error as above
      await db.emergency_contacts.delete('x');
      // @ts-expect-error as above
      await db.user_settings.clear();
    };
    await reads();
    expect(typeof writes).toBe('function');
    await db.delete();
  });

  it('a new database records its schema version and creates its client id on first write', async () => {
    const db = openLocalDb({ name: uniqueName() });
    await db.open();
    expect(await readMeta(db, ['schemaVersion', 'clientId'])).toEqual({ schemaVersion: LATEST_VERSION });
    const mutators = createMutators({ db, now: new TestClock().now });
    await mutators.upsertMood({
      id: '0190a000-0000-7000-8000-000000000010',
      recordedAt: 1,
      fields: { mood: 3 },
    });
    const { clientId } = await readMeta(db, ['clientId']);
    expect(clientId).toMatch(/^[0-9a-f-]{36}$/);
    await db.delete();
  });

  it('is bound to one user: another account is refused', async () => {
    const db = openLocalDb({ name: uniqueName() });
    await bindUser(db, TEST_USER_ID);
    await bindUser(db, TEST_USER_ID);
    await expect(bindUser(db, '0190a000-0000-7000-8000-0000000000ff')).rejects.toThrow(/another account/);
    await db.delete();
  });

  it('[CL7] an upgrade migrates the rows and rewrites the pending outbox entries, which survive it', async () => {
    const name = uniqueName();
    const moodId = '0190a000-0000-7000-8000-000000000020';
    const v1 = openLocalDb({ name });
    await bindUser(v1, TEST_USER_ID);
    const mutators = createMutators({ db: v1, now: new TestClock().now });
    await mutators.upsertMood({ id: moodId, recordedAt: 1_000, fields: { mood: 4, note: 'walked the dog' } });
    const [pendingV1] = await v1.outbox.toArray();
    v1.close();

    // A hypothetical next version: mood `note` becomes `journal` locally and in a new mutator version mood.upsert@2.
    const v2: LocalDbVersion = {
      version: LATEST_VERSION + 1,
      stores: {},
      upgrade: async (tx) => {
        await rewriteRows(tx, 'mood_entries', ({ note, ...row }) => ({ ...row, journal: note }));
        await rewriteOutbox(tx, (entry) => {
          if (entry.name !== 'mood.upsert@1') return entry;
          const args = entry.args as { fields: { note?: string } };
          const { note, ...fields } = args.fields;
          return {
            ...entry,
            name: 'mood.upsert@2',
            args: { ...args, fields: note === undefined ? fields : { ...fields, journal: note } },
          };
        });
      },
    };
    const upgraded = openLocalDb({ name, versions: [...LOCAL_DB_VERSIONS, v2] });
    await upgraded.open();

    expect(upgraded.verno).toBe(LATEST_VERSION + 1);
    expect(await readMeta(upgraded, ['schemaVersion'])).toEqual({ schemaVersion: LATEST_VERSION + 1 });
    const row: Record<string, unknown> | undefined = await upgraded.table('mood_entries').get(moodId);
    expect(row).toMatchObject({ id: moodId, mood: 4, journal: 'walked the dog' });
    expect(row).not.toHaveProperty('note');
    const base: { row: unknown } | undefined = await upgraded.bases.get(`mood_entries/${moodId}`);
    expect(base?.row).toBeNull();

    const outbox = await upgraded.outbox.toArray();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toEqual({
      ...pendingV1,
      name: 'mood.upsert@2',
      args: { id: moodId, recordedAt: 1_000, fields: { mood: 4, journal: 'walked the dog' } },
    });
    await upgraded.delete();
  });
});
