/**
 * Reads the app's IndexedDB (Dexie database 'vitalwatch') from a page, without Dexie and without side effects:
 * a database that does not exist yet is reported as such rather than created (indexedDB.open without a version
 * would create an empty one, which the app would then have to upgrade).
 */
import type { Page } from 'playwright-core';

export const APP_DB_NAME = 'vitalwatch';

/** The object store names of the app database, or null if the database does not exist yet. */
export async function listIndexedDbStores(page: Page, dbName = APP_DB_NAME): Promise<string[] | null> {
  return page.evaluate(async (name) => {
    const existing = await indexedDB.databases();
    if (!existing.some((db) => db.name === name)) return null;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error(`cannot open ${name}`));
    });
    try {
      return [...db.objectStoreNames];
    } finally {
      db.close();
    }
  }, dbName);
}

/**
 * Every record in `store` of the app database (structured-cloned into Node; Dates stay Dates, Blobs do not
 * survive). Throws if the database or the store does not exist.
 */
export async function readIndexedDb<T = unknown>(
  page: Page,
  store: string,
  dbName = APP_DB_NAME,
): Promise<T[]> {
  const records = await page.evaluate(
    async ([name, storeName]) => {
      const existing = await indexedDB.databases();
      if (!existing.some((db) => db.name === name))
        throw new Error(`IndexedDB database ${name} does not exist`);
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error ?? new Error(`cannot open ${name}`));
      });
      try {
        if (!db.objectStoreNames.contains(storeName)) {
          throw new Error(
            `no object store ${storeName} in ${name} (stores: ${[...db.objectStoreNames].join(', ')})`,
          );
        }
        return await new Promise<unknown[]>((resolve, reject) => {
          const request = db.transaction(storeName, 'readonly').objectStore(storeName).getAll();
          request.onsuccess = () => resolve(request.result as unknown[]);
          request.onerror = () => reject(request.error ?? new Error(`cannot read ${storeName}`));
        });
      } finally {
        db.close();
      }
    },
    [dbName, store] as const,
  );
  return records as T[];
}
