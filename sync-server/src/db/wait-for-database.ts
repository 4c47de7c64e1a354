/**
 * Start-up against a database that is not there yet (a container still starting, a Neon compute waking from
 * zero) or that drops mid-migration (SPEC DF4): the step is tried again while its failure is transient
 * (`isTransientDatabaseError`), after 0.5 s, then twice as long each time up to 15 s, and each wait is logged with
 * what failed. Any other failure (a wrong password, a broken migration) ends start-up at once: waiting would not
 * fix it. A migration that failed half-way left nothing behind (its transaction rolled back), so trying again is
 * safe.
 */
import { isTransientDatabaseError } from './transient-database-error.ts';

export const FIRST_RETRY_MS = 500;
export const MAX_RETRY_MS = 15_000;

export type WaitOptions = {
  log: (message: string) => void;
  /** Injected by tests; real time otherwise. */
  sleep?: (ms: number) => Promise<void>;
};

/** The driver's own words (drizzle wraps them as `cause`): "connect ECONNREFUSED 127.0.0.1:5432". */
function innermostMessage(error: unknown): string {
  let message = String(error);
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 6; depth++) {
    if (e instanceof Error && e.message !== '') message = e.message;
    e = 'cause' in e ? e.cause : undefined;
  }
  return message;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `step` (named `what` in the log) until it succeeds or fails for a reason that waiting cannot fix. */
export async function waitForDatabase<T>(
  what: string,
  step: () => Promise<T>,
  { log, sleep = realSleep }: WaitOptions,
): Promise<T> {
  let delay = FIRST_RETRY_MS;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await step();
    } catch (error) {
      if (!isTransientDatabaseError(error)) throw error;
      log(
        `${what}: waiting for the database (${innermostMessage(error)}); attempt ${attempt} failed, trying again in ${delay / 1000} s`,
      );
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }
}
