/**
 * Per-file wiring for browser tests (`*.browser.test.ts`): one web build, one real server and one Chromium per
 * file; a fresh browser context (cookies, storage, service workers, caches) per test. When a test fails, the
 * server's output and the pages' console messages and errors are printed.
 *
 *   const e2e = useBrowserSuite({ buildId: 'A' });
 *   it('…', async () => {
 *     const page = await openControlledPage(e2e.context, '/');
 *     …
 *   });
 *
 * Everything is torn down in afterAll/afterEach, also when a test or a hook fails.
 */
import type { Browser, BrowserContext, BrowserContextOptions } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { launchChromium } from './chromium.ts';
import { startServer, type E2EServer, type ServerOptions } from './e2e-server.ts';
import { buildWeb, removeWebBuilds, type WebBuild } from './web-build.ts';

export interface BrowserSuiteOptions {
  /** Build id of the build the server starts with (becomes `<html data-build>`). Default 'A'. */
  readonly buildId?: string;
  /** 'pglite' (default) or 'postgres' (fresh database; lets tests count rows with server.queryPostgres). */
  readonly database?: ServerOptions['database'];
  /** Extra server environment. */
  readonly serverEnv?: Readonly<Record<string, string>>;
  /** Options for each test's context (geolocation, permissions, viewport…). baseURL is the server's URL. */
  readonly contextOptions?: BrowserContextOptions;
  /** Extra Chromium flags for this file's browser, e.g. FAKE_MEDIA_ARGS (chromium.ts). */
  readonly chromiumArgs?: readonly string[];
}

export interface BrowserSuite {
  readonly server: E2EServer;
  readonly browser: Browser;
  /** The current test's context (fresh per test, closed after it). */
  readonly context: BrowserContext;
  /** The build the server started with. */
  readonly build: WebBuild;
  /** Builds another version of the app (once per id per file), e.g. to restart the server with it. */
  buildWeb(buildId: string): Promise<WebBuild>;
  /** Another context in the current test (closed after it), e.g. a second device. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** A context that lives for the rest of the file (closed in afterAll): one device shared by many tests. */
  newFileContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** Appends a line to the log printed if the current test fails. */
  log(line: string): void;
  /** Content-Security-Policy violations the current test's pages and service workers reported (SPEC SE35). */
  cspViolations(): readonly string[];
  /** Forgets the violations so far (after a test provoked one on purpose). */
  clearCspViolations(): void;
}

/** Chromium's console message for a CSP violation ("Refused to load…", "…violates the following…"). */
const CSP_CONSOLE_MESSAGE = /Content Security Policy|Refused to (load|connect|execute|apply|frame|create)/;
/** Reports each violation a page sees, with where it happened, as a console error the listener below collects. */
const REPORT_CSP_VIOLATIONS = `document.addEventListener('securitypolicyviolation', (event) => {
  console.error('Content Security Policy violation: ' + event.effectiveDirective + ' blocked ' +
    (event.blockedURI || '(inline)') + ' at ' + event.sourceFile + ':' + event.lineNumber);
});`;

export function useBrowserSuite(options: BrowserSuiteOptions = {}): BrowserSuite {
  let server: E2EServer | undefined;
  let browser: Browser | undefined;
  let build: WebBuild | undefined;
  let contexts: BrowserContext[] = [];
  let fileContexts: BrowserContext[] = [];
  let testLog: string[] = [];
  let cspViolations: string[] = [];
  let serverOutputAtTestStart = 0;

  function required<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`${what} is not ready (did beforeAll fail?)`);
    return value;
  }

  async function newContext(
    contextOptions: BrowserContextOptions = {},
    lifetime: 'test' | 'file' = 'test',
  ): Promise<BrowserContext> {
    const context = await required(browser, 'the browser').newContext({
      baseURL: required(server, 'the server').url,
      ...options.contextOptions,
      ...contextOptions,
    });
    const name =
      lifetime === 'test' ? `context ${contexts.length + 1}` : `file context ${fileContexts.length + 1}`;
    (lifetime === 'test' ? contexts : fileContexts).push(context);
    await context.addInitScript({ content: REPORT_CSP_VIOLATIONS });
    const noteCsp = (text: string) => {
      if (CSP_CONSOLE_MESSAGE.test(text)) cspViolations.push(`[${name}] ${text}`);
    };
    context.on('page', (page) => {
      page.on('console', (message) => {
        noteCsp(message.text());
        testLog.push(`[${name} console.${message.type()}] ${message.text()}`);
      });
      page.on('pageerror', (error) => testLog.push(`[${name} pageerror] ${error.stack ?? error.message}`));
    });
    context.on('serviceworker', (worker) => {
      worker.on('console', (message) => {
        noteCsp(message.text());
        testLog.push(`[${name} sw console.${message.type()}] ${message.text()}`);
      });
    });
    return context;
  }

  beforeAll(async () => {
    // Build and browser start in parallel; the server needs the build.
    const [launched, built] = await Promise.all([
      launchChromium(options.chromiumArgs),
      buildWeb(options.buildId ?? 'A'),
    ]);
    browser = launched;
    build = built;
    server = await startServer({
      webDist: built.dir,
      ...(options.database !== undefined && { database: options.database }),
      ...(options.serverEnv !== undefined && { env: options.serverEnv }),
    });
  });

  afterAll(async () => {
    await Promise.allSettled(fileContexts.map((context) => context.close()));
    fileContexts = [];
    const results = await Promise.allSettled([browser?.close(), server?.dispose()]);
    await removeWebBuilds();
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  });

  beforeEach(async ({ onTestFailed }) => {
    testLog = [];
    cspViolations = [];
    serverOutputAtTestStart = server?.output().length ?? 0;
    onTestFailed(() => {
      const serverOutput = server?.output().slice(serverOutputAtTestStart) ?? '(no server)';
      console.error(
        `\n===== server output during the failed test =====\n${serverOutput}` +
          `\n===== browser log =====\n${testLog.join('\n') || '(empty)'}\n=====`,
      );
    });
    await newContext();
  });

  afterEach(async () => {
    const closing = contexts;
    contexts = [];
    await Promise.allSettled(closing.map((context) => context.close()));
  });

  return {
    get server() {
      return required(server, 'the server');
    },
    get browser() {
      return required(browser, 'the browser');
    },
    get build() {
      return required(build, 'the web build');
    },
    get context() {
      return required(contexts[0], 'the test context');
    },
    buildWeb,
    newContext: (options) => newContext(options),
    newFileContext: (options) => newContext(options, 'file'),
    log: (line) => testLog.push(line),
    cspViolations: () => [...cspViolations],
    clearCspViolations: () => {
      cspViolations = [];
    },
  };
}
