/**
 * One predicate decides "open incident" (active or acknowledged) for the device and the service worker:
 * `isOpenIncident` in schema/src/protocol/incident-status.ts (SPEC SO6). This check fails when a file spells
 * the statuses out itself, the way the copies that drifted apart did.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = import.meta.dirname;
const SPELLED =
  /status\s*===\s*'active'\s*\|\||status\s*===\s*'acknowledged'\s*\|\||'active',\s*'acknowledged'\]/;

async function productFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(path.join(ROOT, dir), { recursive: true });
  return entries
    .filter((file) => /\.tsx?$/.test(file) && !/\.test\.tsx?$/.test(file))
    .map((file) => path.join(dir, file));
}

describe('open incident', () => {
  it('[SO6] the device and the service worker never spell "open incident" out themselves: they ask isOpenIncident', async () => {
    const files = [...(await productFiles('web/src')), ...(await productFiles('sw/src'))];
    expect(files.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const file of files) {
      if (SPELLED.test(await fs.readFile(path.join(ROOT, file), 'utf8'))) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
