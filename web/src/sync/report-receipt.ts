/**
 * Posts a receipt (SPEC AL31): "this alert is on this phone's screen", from the service worker once it showed a
 * notification (sw/src/alert-receipts.ts) and from the open app once it showed a realtime alert
 * (web/src/screens/incoming-alert.tsx). A flaky link must not lose it: network errors, 5xx and 429 are tried again with a growing
 * delay (the server's Retry-After when longer); 2xx is done, and any other answer (the token refused, a bad body)
 * cannot change by trying again.
 */
import { ALERT_RECEIPTS_PATH, type AlertReceipt } from '@vitalwatch/schema/protocol/alert-receipt';

export type ReceiptOutcome = 'recorded' | 'refused' | 'retry';

/** Waits between tries; about a minute in all, inside what a push event's waitUntil is given. */
export const RECEIPT_RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000] as const;

export type ReceiptDeps = {
  origin: string;
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
};

/** One try: what the server's answer means for the receipt, and how long it asked us to wait. */
export async function postReceipt(
  deps: Pick<ReceiptDeps, 'origin' | 'fetch'>,
  receipt: AlertReceipt,
): Promise<{ outcome: ReceiptOutcome; retryAfterMs: number }> {
  let response: Response;
  try {
    response = await deps.fetch(`${deps.origin}${ALERT_RECEIPTS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(receipt),
      cache: 'no-store',
    });
  } catch {
    return { outcome: 'retry', retryAfterMs: 0 };
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.ok) return { outcome: 'recorded', retryAfterMs: 0 };
  if (response.status === 429 || response.status === 408 || response.status >= 500) {
    const seconds = Number(response.headers.get('retry-after'));
    return { outcome: 'retry', retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : 0 };
  }
  return { outcome: 'refused', retryAfterMs: 0 };
}

/** Tries now and after each of `RECEIPT_RETRY_DELAYS_MS`; `retry` if every try failed for a passing reason. */
export async function reportReceipt(deps: ReceiptDeps, receipt: AlertReceipt): Promise<ReceiptOutcome> {
  for (let attempt = 0; ; attempt++) {
    const { outcome, retryAfterMs } = await postReceipt(deps, receipt);
    const delay = RECEIPT_RETRY_DELAYS_MS[attempt];
    if (outcome !== 'retry' || delay === undefined) return outcome;
    await deps.sleep(Math.max(delay, retryAfterMs));
  }
}
