// Every rule in schema/SPEC.md is cited by at least one test name, and every cited id exists in the spec.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';

const root = path.dirname(new URL(import.meta.url).pathname);

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return /\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

const specIds = new Set(
  [...fs.readFileSync(path.join(root, 'schema/SPEC.md'), 'utf8').matchAll(/^- \*\*([A-Z]{2}\d+)\*\*/gm)].map(
    (m) => m[1] ?? '',
  ),
);
const cited = new Set(
  testFiles(root).flatMap((file) =>
    [...fs.readFileSync(file, 'utf8').matchAll(/\bit\(\s*[`'"]((?:\[[A-Z]{2}\d+\])+)/g)].flatMap((m) =>
      [...(m[1] ?? '').matchAll(/[A-Z]{2}\d+/g)].map((id) => id[0]),
    ),
  ),
);

it('every rule in schema/SPEC.md is cited by a test', () => {
  expect(specIds.size).toBeGreaterThan(0);
  expect([...specIds].filter((id) => !cited.has(id))).toEqual([]);
});

it('every rule a test cites exists in schema/SPEC.md', () => {
  expect([...cited].filter((id) => !specIds.has(id))).toEqual([]);
});
