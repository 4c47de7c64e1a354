/**
 * Debian's Chromium driven by playwright-core. Playwright's own browser download does not work on our machines
 * (docs/platform-facts.md), so there is no fallback: a missing binary fails the run and says how to install it. A browser
 * test that skipped silently would let a broken service worker ship.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags that keep Chromium from talking to Google in the background (noise in request logs and timings). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export class ChromiumMissingError extends Error {}

/** Fake microphone and camera, permission prompts answered "allow" (for capture tests). */
export const FAKE_MEDIA_ARGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
] as const;

/** `extraArgs` come after CHROMIUM_ARGS, e.g. FAKE_MEDIA_ARGS. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    const line = '!'.repeat(100);
    throw new ChromiumMissingError(
      `\n${line}\n!! ${CHROMIUM_PATH} is missing: the browser tests and budgets cannot run.\n` +
        `!! Install Debian's Chromium: apt-get install -y chromium   (.ci/run does this)\n${line}`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    headless: true,
  });
}
