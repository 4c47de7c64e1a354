/**
 * PGlite runs in-process and answers through promises that settle as microtasks, so a loop of awaited PGlite
 * queries never returns to the event loop: signal handlers and timers (Ctrl-C, the watchdog) would wait until the
 * loop ends. Every measuring loop calls this between timed regions.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
