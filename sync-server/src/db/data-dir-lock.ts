/**
 * An exclusive lock on an embedded data directory, held for the life of the process.
 *
 * proper-lockfile makes the lock with an atomic mkdir and refreshes its mtime every second; a lock whose owner
 * died (kill -9, power loss) goes stale after 5 s and is then taken over. So a restart right after a crash waits
 * a few seconds, and a second live process is refused with a message that says what to do.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';

export type DataDirLock = { release(): Promise<void> };

export class DataDirLockedError extends Error {}

const STALE_MS = 5_000;

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await fs.mkdir(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, 'vitalwatch.lock');
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dataDir, {
      lockfilePath: lockPath,
      realpath: false,
      stale: STALE_MS,
      update: 1_000,
      // Long enough to outlast a crashed owner's stale lock, short enough to fail fast for a live one.
      retries: { retries: 7, factor: 1, minTimeout: 1_000, maxTimeout: 1_000 },
      onCompromised: (error) => {
        // Someone removed or took our lock while we run: continuing could corrupt the database.
        console.error(`fatal: lost the lock on ${dataDir}: ${error.message}`);
        process.exit(1);
      },
    });
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ELOCKED') {
      throw new DataDirLockedError(
        `the data directory ${dataDir} is in use by another VitalWatch process (lock ${lockPath}). ` +
          'Stop that process, or give this one its own DATA_DIR.',
      );
    }
    throw error;
  }
  return { release: () => release() };
}
