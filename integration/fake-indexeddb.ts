/**
 * fake-indexeddb for Node tests outside web/: it is a dependency of web/, not of the repository root, so it is
 * loaded from there. Importing this module installs the global `indexedDB`/`IDBKeyRange` (what
 * `import 'fake-indexeddb/auto'` does) before Dexie is evaluated; import it before anything that imports Dexie.
 * `newIndexedDb()` gives each simulated device its own, empty IndexedDB.
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

/** Dexie options for a device with an IndexedDB of its own (no database is shared with another device). */
export function newIndexedDb() {
  return { indexedDB: new fake.IDBFactory(), IDBKeyRange: fake.IDBKeyRange };
}
