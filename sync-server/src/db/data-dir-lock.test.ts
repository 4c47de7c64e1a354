import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openDatabase, type Database } from './database.ts';
import { DataDirLockedError } from './data-dir-lock.ts';

const opened: Database[] = [];
afterEach(async () => {
  for (const database of opened.splice(0)) await database.close();
});

it('[LK1] refuses to open a PGlite data directory that another database holds, and opens it once released', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-lock-'));
  const first = await openDatabase({ kind: 'pglite', dataDir });
  opened.push(first);
  await first.migrate();
  const refused: unknown = await openDatabase({ kind: 'pglite', dataDir }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(DataDirLockedError);
  expect(String(refused)).toMatch(/in use by another VitalWatch process/);
  await first.close();
  opened.pop();
  const second = await openDatabase({ kind: 'pglite', dataDir });
  opened.push(second);
  await second.migrate(); // the data written by the first open is still there: nothing to apply
});
