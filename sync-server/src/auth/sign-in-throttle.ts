/**
 * Growing delays after failed password sign-ins (SPEC SE32, docs/security.md "Throttling…").
 *
 * Two counters of failures, each forgotten 24 h after its last failure:
 * - per account × address: after `freeFailures` failures, every further failure makes that address wait
 *   1 s, 2 s, 4 s, … up to `maxDelayMs` before its next try on that account. This is the brake on one guesser.
 * - per account, from any address: the same, after 4 × `freeFailures` failures. This is the brake on guessers
 *   spread over many addresses. It does not apply to an address that signed in to the account successfully
 *   before (since this server started), so the owner's own phone or home network keeps working while strangers
 *   are locked out; from a new address the owner waits at most `maxDelayMs`.
 *
 * While an address must wait it is answered 429 without the password being checked, so a guess costs no scrypt
 * time and cannot slow anyone else's sign-in. A success clears that address's counter for the account. Accounts
 * are keyed by the login as typed (normalised), whether or not it exists, so a 429 says nothing about who has an
 * account. State is in memory, per instance, bounded: the least recently failed entries go first.
 */
import { tooManyRequests } from '../http/http-error.ts';

export type SignInThrottle = {
  /** Throws a 429 HttpError when this login must wait before another try from this address. */
  check(login: string, address: string): void;
  failed(login: string, address: string): void;
  succeeded(login: string, address: string): void;
};

type Failures = { count: number; lastAt: number; waitUntil: number };

const FORGET_AFTER_MS = 24 * 3_600_000;
/** An address that signed in to an account stays "known" for this long. */
const KNOWN_FOR_MS = 30 * 86_400_000;
const MAX_ENTRIES = 50_000;
const FIRST_DELAY_MS = 1_000;
/** The account-wide counter allows this many times the per-address failures. */
const ACCOUNT_FACTOR = 4;

export function createSignInThrottle(options: {
  freeFailures: number;
  maxDelayMs: number;
  now: () => Date;
}): SignInThrottle {
  const failures = new Map<string, Failures>();
  const known = new Map<string, number>();
  const pairKey = (login: string, address: string) => `${login}\n${address}`;
  const accountKey = (login: string) => `${login}\n*`;

  function current(key: string, at: number): Failures | undefined {
    const entry = failures.get(key);
    if (entry !== undefined && at - entry.lastAt > FORGET_AFTER_MS) {
      failures.delete(key);
      return undefined;
    }
    return entry;
  }

  function waitMs(key: string, at: number): number {
    const entry = current(key, at);
    return entry === undefined ? 0 : Math.max(0, entry.waitUntil - at);
  }

  function count(key: string, free: number, at: number): void {
    const count = (current(key, at)?.count ?? 0) + 1;
    const delay =
      count <= free ? 0 : Math.min(options.maxDelayMs, FIRST_DELAY_MS * 2 ** Math.min(count - free - 1, 30));
    // Re-inserted, so Map order is "least recently failed first" for eviction.
    failures.delete(key);
    failures.set(key, { count, lastAt: at, waitUntil: at + delay });
    trim(failures);
  }

  function isKnown(login: string, address: string, at: number): boolean {
    const since = known.get(pairKey(login, address));
    return since !== undefined && at - since <= KNOWN_FOR_MS;
  }

  return {
    check(login, address) {
      const at = options.now().getTime();
      const pair = waitMs(pairKey(login, address), at);
      const account = isKnown(login, address, at) ? 0 : waitMs(accountKey(login), at);
      const wait = Math.max(pair, account);
      if (wait > 0) {
        throw tooManyRequests(
          wait,
          'Too many failed sign-ins for this account. Check the email (or phone) and password.',
        );
      }
    },
    failed(login, address) {
      const at = options.now().getTime();
      count(pairKey(login, address), options.freeFailures, at);
      count(accountKey(login), options.freeFailures * ACCOUNT_FACTOR, at);
    },
    succeeded(login, address) {
      const key = pairKey(login, address);
      failures.delete(key);
      known.delete(key);
      known.set(key, options.now().getTime());
      trim(known);
    },
  };
}

function trim(map: Map<string, unknown>): void {
  if (map.size <= MAX_ENTRIES) return;
  for (const key of map.keys()) {
    if (map.size <= MAX_ENTRIES * 0.9) break;
    map.delete(key);
  }
}
