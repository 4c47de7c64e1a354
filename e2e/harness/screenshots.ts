/**
 * With `E2E_SCREENSHOTS=<dir>`, a browser test saves what the person sees, to be looked at: `<name>.png` (the
 * screen), and the whole page as well (`<name>-full.png`) or instead (`fullPage`). Without it, nothing is saved.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';

export async function screenshot(
  page: Page,
  name: string,
  whole: 'also' | 'instead' | 'no' = 'no',
): Promise<void> {
  const dir = process.env.E2E_SCREENSHOTS;
  if (dir === undefined || dir === '') return;
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: whole === 'instead' });
  if (whole === 'also') await page.screenshot({ path: path.join(dir, `${name}-full.png`), fullPage: true });
}
