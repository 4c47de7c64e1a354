/**
 * fake-indexeddb for the device side of sync-compare-bench.ts. It is a dependency of web/, not of bench/, so it is
 * loaded from there (as integration/fake-indexeddb.ts does). Importing this module installs the global
 * `indexedDB`/`IDBKeyRange`; import it before anything that imports Dexie. `newIndexedDb()` gives each simulated
 * device its own, empty IndexedDB. It lives in memory: its timings say nothing about a phone's IndexedDB.
 */
import { createRequire } from 'node:module';

interface FakeIndexedDbModule {
  IDBFactory: new () => { open: (...args: never[]) => unknown };
  IDBKeyRange: {
    bound: (...args: never[]) => unknown;
    lowerBound: (...args: never[]) => unknown;
    upperBound: (...args: never[]) => unknown;
  };
}

const fromWeb = createRequire(new URL('../web/package.json', import.meta.url));
fromWeb('fake-indexeddb/auto');
const fake = fromWeb('fake-indexeddb') as FakeIndexedDbModule;

/** Dexie options for a device with an IndexedDB of its own. */
export function newIndexedDb() {
  return { indexedDB: new fake.IDBFactory(), IDBKeyRange: fake.IDBKeyRange };
}
