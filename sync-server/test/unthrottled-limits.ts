import type { HttpLimits } from '../src/http/http-limits.ts';

/**
 * Limits no test or benchmark reaches, for the ones that are not about limits: they all come from one loopback
 * address and some sign up dozens of accounts or push thousands of batches as one user. Tests of the limits
 * (SPEC SE30–SE33) set their own.
 */
export const UNTHROTTLED_HTTP_LIMITS: HttpLimits = {
  signInPerAddressPerMinute: 1_000_000,
  signInFreeFailures: 1_000,
  signInMaxDelaySeconds: 1,
  signUpPerAddressPerHour: 1_000_000,
  userRequestsPerMinute: 1_000_000,
  publicRequestsPerAddressPerMinute: 1_000_000,
  webhookRequestsPerAddressPerMinute: 1_000_000,
};
