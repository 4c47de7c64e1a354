/**
 * Size budgets of issue #4 item 5, checked on every change: what index.html loads must stay small enough for a
 * low-end phone on a weak network, and so must everything the installed app precaches. The timing budgets are a
 * measuring program (pnpm bench:web, e2e/measure-web-budgets.ts), not a test (docs/coding-habits.md §15).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUDGETS, KB, measureBundleSizes, type BundleSizes } from './harness/bundle-sizes.ts';
import { buildWeb, removeWebBuilds } from './harness/web-build.ts';

let sizes: BundleSizes;
beforeAll(async () => {
  sizes = measureBundleSizes((await buildWeb('budgets')).dir);
});
afterAll(removeWebBuilds);

const list = (files: BundleSizes['entryJs']) =>
  files.map((f) => `${f.file} ${(f.gzipBytes / KB).toFixed(1)} KB`).join(', ');

it(`the JavaScript index.html loads is at most ${BUDGETS.entryJsGzipKb} KB gzip`, () => {
  expect(
    sizes.entryJs.some((f) => f.file.endsWith('.js')),
    list(sizes.entryJs),
  ).toBe(true);
  expect(sizes.entryJsGzipBytes, list(sizes.entryJs)).toBeLessThanOrEqual(BUDGETS.entryJsGzipKb * KB);
});

it(`the whole precache is at most ${BUDGETS.precacheGzipKb} KB gzip, and holds the app shell`, () => {
  const files = sizes.precache.map((f) => f.file);
  expect(files).toContain('index.html');
  for (const entry of sizes.entryJs) expect(files).toContain(entry.file);
  expect(sizes.precacheGzipBytes, list(sizes.precache)).toBeLessThanOrEqual(BUDGETS.precacheGzipKb * KB);
});
