/**
 * `pnpm bench:web`: measures the web app's budgets (issue #4 item 5) and fails (exit 1) when one is missed.
 *
 *   sizes    JavaScript index.html loads (static graph, and what Chromium actually fetched on a first visit with an
 *            empty cache), and the whole precache; gzip, 1 KB = 1,000 bytes (harness/bundle-sizes.ts).
 *   timings  headless Chromium, 4× CPU throttling (CDP Emulation.setCPUThrottlingRate), the app installed and the
 *            network OFF, so every load comes from the service worker's cache:
 *            - SOS ready: navigation start (performance.timeOrigin) → first animation frame in which a button whose
 *              accessible name contains "SOS" is visible and enabled;
 *            - tap → countdown: the SOS button's pointerdown (event.timeStamp) → first animation frame in which an
 *              element with role="timer" is visible;
 *            - local commit: "Send now" → the incident committed to IndexedDB, as the app measures it
 *              (performance.measure 'vw-sos-local-commit'); judged on a second set of runs without CPU
 *              throttling (the issue names none for it). Each run then presses "I'm safe".
 *            Median and p95 (nearest rank) of --runs runs (default 15) after one warm-up. Pass/fail is judged on
 *            the median: on our shared 2-core machines the p95 mostly measures the other jobs (a load average of 11
 *            turned a 49 ms median into a 170 ms p95). Both are recorded.
 *
 * Writes bench/results/web-budgets-<time>.json (machine, versions, raw runs) and prints a markdown table.
 * The real server (README start command) serves a fresh build with a fresh PGlite data dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { BUDGETS, KB, measureBundleSizes, sizeOf, type SizedFile } from './harness/bundle-sizes.ts';
import { launchChromium } from './harness/chromium.ts';
import { startServer, type E2EServer } from './harness/e2e-server.ts';
import { waitForServiceWorkerActive, waitForServiceWorkerControl } from './harness/service-worker.ts';
import { buildWeb, removeWebBuilds, REPO_ROOT } from './harness/web-build.ts';

const TIMING_BUDGETS_MS = { sosReady: 1000, tapToCountdown: 150, localCommit: 50 } as const;
const CPU_SLOWDOWN = 4;
const SOS_NAME = /SOS/;

/** `--runs N` (≥ 10, default 15); `--cpu-slowdown N` (default 4; 1 = none, to see what the throttling costs). */
function parseArgs(argv: string[]): { runs: number; cpuSlowdown: number } {
  const option = (name: string, fallback: number, min: number) => {
    const index = argv.indexOf(name);
    if (index === -1) return fallback;
    const value = Number(argv[index + 1]);
    if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}`);
    return value;
  };
  return { runs: option('--runs', 15, 10), cpuSlowdown: option('--cpu-slowdown', CPU_SLOWDOWN, 1) };
}

/**
 * Installed before any page script on every navigation. Records, on the page's clock (performance.now(), origin =
 * navigation start), the first frame with a usable SOS button, the SOS button's pointerdown, and the first frame
 * with a visible timer. The accessible name is approximated (aria-label, aria-labelledby, text); the program
 * checks it against Playwright's getByRole once.
 */
function installProbe(): void {
  interface Probe {
    sosReadyAt: number | null;
    pointerDownAt: number | null;
    timerVisibleAt: number | null;
  }
  const probe: Probe = { sosReadyAt: null, pointerDownAt: null, timerVisibleAt: null };
  (window as unknown as { __vwBudgetProbe: Probe }).__vwBudgetProbe = probe;

  const isVisible = (element: Element) => {
    const box = element.getBoundingClientRect();
    return (
      box.width > 0 &&
      box.height > 0 &&
      element.checkVisibility({ opacityProperty: true, visibilityProperty: true })
    );
  };
  const nameOf = (element: Element) => {
    const labelledBy = element.getAttribute('aria-labelledby');
    if (labelledBy !== null) {
      return labelledBy
        .split(/\s+/)
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join(' ');
    }
    return element.getAttribute('aria-label') ?? element.textContent ?? '';
  };
  const isSosButton = (element: Element) =>
    nameOf(element).includes('SOS') &&
    !(element as HTMLButtonElement).disabled &&
    element.getAttribute('aria-disabled') !== 'true' &&
    isVisible(element);

  addEventListener(
    'pointerdown',
    (event) => {
      const target = event.target instanceof Element ? event.target.closest('button, [role="button"]') : null;
      if (probe.pointerDownAt === null && target !== null && isSosButton(target))
        probe.pointerDownAt = event.timeStamp;
    },
    { capture: true },
  );
  const onFrame = () => {
    const now = performance.now();
    if (
      probe.sosReadyAt === null &&
      [...document.querySelectorAll('button, [role="button"]')].some(isSosButton)
    ) {
      probe.sosReadyAt = now;
    }
    if (
      probe.pointerDownAt !== null &&
      probe.timerVisibleAt === null &&
      [...document.querySelectorAll('[role="timer"]')].some(isVisible)
    ) {
      probe.timerVisibleAt = now;
    }
    if (probe.timerVisibleAt === null) requestAnimationFrame(onFrame);
  };
  requestAnimationFrame(onFrame);
}

interface ProbeResult {
  sosReadyAt: number | null;
  pointerDownAt: number | null;
  timerVisibleAt: number | null;
  controlled: boolean;
  online: boolean;
}

function readProbe(page: Page): Promise<ProbeResult> {
  return page.evaluate(() => {
    const probe = (window as unknown as { __vwBudgetProbe: Omit<ProbeResult, 'controlled' | 'online'> })
      .__vwBudgetProbe;
    return { ...probe, controlled: navigator.serviceWorker.controller !== null, online: navigator.onLine };
  });
}

async function waitForProbe(page: Page, field: 'sosReadyAt' | 'timerVisibleAt', what: string): Promise<void> {
  try {
    await page.waitForFunction(
      (name) =>
        (window as unknown as { __vwBudgetProbe?: Record<string, unknown> }).__vwBudgetProbe?.[name] != null,
      field,
      { timeout: 20_000, polling: 50 },
    );
  } catch {
    throw new Error(
      `${what} did not happen within 20 s. The page shows:\n${await page.locator('body').innerText()}`,
    );
  }
}

interface Run {
  sosReadyMs: number;
  tapToCountdownMs: number;
  /** End of the countdown ("Send now") → incident committed to IndexedDB, as the app measures it. */
  localCommitMs: number;
}

async function measureRun(page: Page, url: string): Promise<Run> {
  await page.goto(url, { waitUntil: 'commit' });
  await waitForProbe(page, 'sosReadyAt', 'a visible, enabled button whose accessible name contains "SOS"');
  await page.getByRole('button', { name: SOS_NAME }).first().click();
  await waitForProbe(page, 'timerVisibleAt', 'a visible role="timer" countdown after pressing SOS');
  const probe = await readProbe(page);
  if (!probe.controlled || probe.online) {
    throw new Error(
      `a run was not offline from the cache (controlled ${probe.controlled}, online ${probe.online})`,
    );
  }
  if (probe.sosReadyAt === null || probe.pointerDownAt === null || probe.timerVisibleAt === null) {
    throw new Error(`incomplete probe: ${JSON.stringify(probe)}`);
  }
  await page.getByRole('button', { name: 'Send now' }).click();
  const commit = await page.waitForFunction(
    () => performance.getEntriesByName('vw-sos-local-commit')[0]?.duration ?? null,
    undefined,
    { timeout: 20_000 },
  );
  const localCommitMs = (await commit.jsonValue()) ?? Number.NaN;
  // End the incident, so the next run starts from the same home screen.
  await page.getByRole('button', { name: "I'm safe" }).click();
  await page.getByRole('heading', { name: 'You marked yourself safe' }).waitFor();
  return {
    sosReadyMs: probe.sosReadyAt,
    tapToCountdownMs: probe.timerVisibleAt - probe.pointerDownAt,
    localCommitMs,
  };
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function machine(browser: Browser) {
  const pkg = (dir: string) =>
    (JSON.parse(readFileSync(path.join(REPO_ROOT, dir, 'package.json'), 'utf8')) as { version: string })
      .version;
  let git = 'unknown';
  try {
    git = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout.
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadAverageAtStart: os.loadavg().map((load) => +load.toFixed(2)),
    node: process.version,
    chromium: browser.version(),
    playwrightCore: pkg('node_modules/playwright-core'),
    vite: pkg('web/node_modules/vite'),
    gitCommit: git,
  };
}

const kb = (bytes: number) => `${(bytes / KB).toFixed(1)} KB`;
const ms = (value: number) => `${Math.round(value)} ms`;

async function main(): Promise<number> {
  const { runs, cpuSlowdown } = parseArgs(process.argv.slice(2));
  const build = await buildWeb('bench');
  const sizes = measureBundleSizes(build.dir);
  let server: E2EServer | undefined;
  let browser: Browser | undefined;
  try {
    [server, browser] = await Promise.all([startServer({ webDist: build.dir }), launchChromium()]);
    const info = machine(browser);
    const context = await browser.newContext({ baseURL: server.url });
    context.on('page', (page) => page.on('dialog', (dialog) => void dialog.accept()));

    // First visit, empty cache: which scripts does Chromium fetch for the page?
    const firstVisit = await context.newPage();
    const scripts = new Set<string>();
    firstVisit.on('request', (request) => {
      const url = new URL(request.url());
      if (request.resourceType() === 'script' && url.origin === server?.url && url.pathname !== '/sw.js') {
        scripts.add(url.pathname.slice(1));
      }
    });
    await firstVisit.goto('/', { waitUntil: 'networkidle' });
    await waitForServiceWorkerActive(firstVisit);
    const firstLoadJs: SizedFile[] = [...scripts].map((file) => sizeOf(build.dir, file));
    const firstLoadJsGzipBytes = firstLoadJs.reduce((total, f) => total + f.gzipBytes, 0);
    await firstVisit.reload();
    await waitForServiceWorkerControl(firstVisit);
    await firstVisit.close();

    const page = await context.newPage();
    // tsx (esbuild keepNames) wraps named inner functions in __name(); a page has no such helper.
    await page.addInitScript({ content: 'globalThis.__name ??= (fn) => fn;' });
    await page.addInitScript(installProbe);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpuSlowdown });
    await context.setOffline(true);
    // With a second CDP session on the page, Chromium 156 reports navigator.onLine = true after a navigation even
    // though the context is offline; the app must see what a phone with no network reports, so say it here too.
    await cdp.send('Network.emulateNetworkConditions', {
      offline: true,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    const url = `${server.url}/`;
    await measureRun(page, url); // warm-up: first offline load, V8 code cache
    const results: Run[] = [];
    for (let i = 0; i < runs; i += 1) results.push(await measureRun(page, url));
    // The same button, as Playwright's accessibility tree names it (guards the probe's approximation).
    await page.goto(url);
    if (!(await page.getByRole('button', { name: SOS_NAME }).first().isEnabled())) {
      throw new Error('Playwright finds no enabled button named SOS, but the probe did');
    }
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    // The local commit budget (issue #4 §3) names no CPU slowdown: judged on unthrottled runs, the 4× runs shown too.
    const unthrottled: Run[] = [];
    for (let i = 0; i < runs; i += 1) unthrottled.push(await measureRun(page, url));

    const sosReady = results.map((r) => r.sosReadyMs);
    const tap = results.map((r) => r.tapToCountdownMs);
    const commit = results.map((r) => r.localCommitMs);
    const commitUnthrottled = unthrottled.map((r) => r.localCommitMs);
    const rows = [
      {
        measure: 'JS loaded by index.html (entry + static imports), gzip',
        budget: `≤ ${BUDGETS.entryJsGzipKb} KB`,
        value: kb(sizes.entryJsGzipBytes),
        ok: sizes.entryJsGzipBytes <= BUDGETS.entryJsGzipKb * KB,
      },
      {
        measure: 'JS Chromium fetched on a first visit (incl. dynamic imports), gzip',
        budget: `≤ ${BUDGETS.entryJsGzipKb} KB`,
        value: kb(firstLoadJsGzipBytes),
        ok: firstLoadJsGzipBytes <= BUDGETS.entryJsGzipKb * KB,
      },
      {
        measure: `Whole precache (${sizes.precache.length} files), gzip`,
        budget: `≤ ${BUDGETS.precacheGzipKb} KB`,
        value: kb(sizes.precacheGzipBytes),
        ok: sizes.precacheGzipBytes <= BUDGETS.precacheGzipKb * KB,
      },
      {
        measure: `SOS button usable after navigation, offline, ${cpuSlowdown}× CPU (median / p95)`,
        budget: `≤ ${TIMING_BUDGETS_MS.sosReady} ms`,
        value: `${ms(percentile(sosReady, 50))} / ${ms(percentile(sosReady, 95))}`,
        ok: percentile(sosReady, 50) <= TIMING_BUDGETS_MS.sosReady,
      },
      {
        measure: `Tap SOS → countdown visible, ${cpuSlowdown}× CPU (median / p95)`,
        budget: `≤ ${TIMING_BUDGETS_MS.tapToCountdown} ms`,
        value: `${ms(percentile(tap, 50))} / ${ms(percentile(tap, 95))}`,
        ok: percentile(tap, 50) <= TIMING_BUDGETS_MS.tapToCountdown,
      },
      {
        measure: 'SOS incident committed locally after the countdown, offline (median / p95)',
        budget: `≤ ${TIMING_BUDGETS_MS.localCommit} ms`,
        value: `${ms(percentile(commitUnthrottled, 50))} / ${ms(percentile(commitUnthrottled, 95))}; at ${cpuSlowdown}× CPU ${ms(percentile(commit, 50))} / ${ms(percentile(commit, 95))}`,
        ok: percentile(commitUnthrottled, 50) <= TIMING_BUDGETS_MS.localCommit,
      },
    ];

    const table = [
      '| measure | budget | measured | |',
      '| --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.measure} | ${r.budget} | ${r.value} | ${r.ok ? 'ok' : '**MISSED**'} |`),
    ].join('\n');
    const footer =
      `${runs} runs after 1 warm-up, timings judged on the median; ${info.nproc} × ${info.cpuModel}, load ${info.loadAverageAtStart.join(' ')} at ` +
      `start; Node ${info.node}, Chromium ${info.chromium}, playwright-core ${info.playwrightCore}; sw.js ` +
      `${kb(sizes.serviceWorker.gzipBytes)} gzip (not in the precache).`;

    const at = new Date().toISOString();
    const resultsDir = path.join(REPO_ROOT, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `web-budgets-${at.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`);
    const record = {
      at,
      machine: info,
      cpuSlowdown,
      budgets: { ...BUDGETS, timingsMs: TIMING_BUDGETS_MS, kbBytes: KB, judgedOn: 'median' },
      sizes: { ...sizes, firstLoadJs, firstLoadJsGzipBytes },
      timings: {
        sosReadyMs: { median: percentile(sosReady, 50), p95: percentile(sosReady, 95), runs: sosReady },
        tapToCountdownMs: { median: percentile(tap, 50), p95: percentile(tap, 95), runs: tap },
        localCommitMs: {
          median: percentile(commitUnthrottled, 50),
          p95: percentile(commitUnthrottled, 95),
          runs: commitUnthrottled,
          throttledRuns: commit,
        },
      },
      rows,
    };
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);

    console.log(`\n${table}\n\n${footer}\n\nRaw results: ${path.relative(REPO_ROOT, file)}`);
    const missed = rows.filter((r) => !r.ok);
    if (missed.length > 0) {
      console.error(`\nBudget missed: ${missed.map((r) => r.measure).join('; ')}`);
      return 1;
    }
    return 0;
  } catch (error) {
    if (server !== undefined) console.error(`----- server output -----\n${server.output()}`);
    throw error;
  } finally {
    await browser?.close();
    await server?.dispose();
    await removeWebBuilds();
  }
}

process.exitCode = await main();
