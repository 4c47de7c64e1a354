/**
 * Erases everything VitalWatch keeps on this device (SPEC DR11): the device database (sync/erase-local-data.ts,
 * which also marks the erasure so the app can say so), the evidence files (`vitalwatch-media`) and the settings
 * kept in localStorage (every `vitalwatch.` key). Used after this device deleted the account, and on a device that
 * learnt from the server that its account was deleted elsewhere (the database part ran during its sync; the rest
 * runs when the page sees the mark: `eraseDeviceFiles`).
 */
import { openMediaDb } from '../media/media-db.ts';
import { eraseLocalData } from '../sync/erase-local-data.ts';
import type { LocalDb } from '../sync/local-db.ts';

const STORAGE_PREFIX = 'vitalwatch.';

/** The evidence files and the settings in localStorage. */
export async function eraseDeviceFiles(): Promise<void> {
  const media = openMediaDb();
  try {
    await media.transaction('rw', media.files, media.contents, async () => {
      await media.files.clear();
      await media.contents.clear();
    });
  } finally {
    media.close();
  }
  for (const key of Object.keys(localStorage))
    if (key.startsWith(STORAGE_PREFIX)) localStorage.removeItem(key);
}

export async function eraseDevice(db: LocalDb, at: number): Promise<void> {
  await eraseLocalData(db, at);
  await eraseDeviceFiles();
}
