/**
 * Receipts for shown notifications (SPEC AL31), kept until the server has them. The worker saves a receipt before
 * the first try, tries for about a minute (report-receipt.ts), and, if the link is still down, asks for a
 * Background Sync (`ALERT_RECEIPTS_SYNC_TAG`) so Chromium wakes it when the network is back; every push and every
 * such sync also sends whatever is still waiting. A receipt older than `RECEIPT_KEEP_MS` is dropped: by then the
 * SOS screen has long since offered the user's own texts.
 *
 * The store is the Cache API (a worker has no localStorage, and the app's Dexie schema is not this module's to
 * change): one entry per receipt, keyed by a synthetic same-origin URL that no request ever fetches.
 */
import * as z from 'zod/mini';
import { AlertReceipt } from '@vitalwatch/schema/protocol/alert-receipt';
import { EpochMs } from '@vitalwatch/schema/protocol/common';
import {
  reportReceipt,
  postReceipt,
  type ReceiptDeps,
  type ReceiptOutcome,
} from '@vitalwatch/web/sync/report-receipt.ts';

export const ALERT_RECEIPTS_SYNC_TAG = 'vitalwatch-alert-receipts';
export const RECEIPT_KEEP_MS = 24 * 60 * 60_000;
const CACHE_NAME = 'vitalwatch-alert-receipts';

const PendingReceipt = z.extend(AlertReceipt, { shownAt: EpochMs });
export type PendingReceipt = z.infer<typeof PendingReceipt>;

/** Where receipts wait for the server. */
export interface ReceiptStore {
  put(receipt: PendingReceipt): Promise<void>;
  remove(receipt: AlertReceipt): Promise<void>;
  list(): Promise<PendingReceipt[]>;
}

export type WorkerReceiptDeps = ReceiptDeps & {
  store: ReceiptStore;
  now: () => number;
  /** Background Sync, when the browser has it. */
  requestSync: () => Promise<void>;
};

/** Saves the receipt, reports it (with retries), and leaves it for a later sync if the link stayed down. */
export async function reportShown(deps: WorkerReceiptDeps, receipt: AlertReceipt): Promise<ReceiptOutcome> {
  await deps.store.put({ ...receipt, shownAt: deps.now() });
  const outcome = await reportReceipt(deps, receipt);
  if (outcome === 'retry') await deps.requestSync().catch(() => undefined);
  else await deps.store.remove(receipt);
  return outcome;
}

/** One try for each waiting receipt; returns how many are still waiting. */
export async function flushReceipts(deps: WorkerReceiptDeps): Promise<number> {
  let waiting = 0;
  for (const pending of await deps.store.list()) {
    const receipt = { incidentId: pending.incidentId, receipt: pending.receipt };
    if (deps.now() - pending.shownAt > RECEIPT_KEEP_MS) {
      await deps.store.remove(receipt);
      continue;
    }
    const { outcome } = await postReceipt(deps, receipt);
    if (outcome === 'retry') waiting += 1;
    else await deps.store.remove(receipt);
  }
  return waiting;
}

/** The Cache API as a ReceiptStore. */
export function cacheReceiptStore(caches: CacheStorage, origin: string): ReceiptStore {
  const key = (receipt: AlertReceipt) =>
    `${origin}/__vitalwatch/alert-receipts/${encodeURIComponent(receipt.receipt)}`;
  return {
    async put(receipt) {
      const cache = await caches.open(CACHE_NAME);
      await cache.put(key(receipt), new Response(JSON.stringify(receipt)));
    },
    async remove(receipt) {
      const cache = await caches.open(CACHE_NAME);
      await cache.delete(key(receipt));
    },
    async list() {
      const cache = await caches.open(CACHE_NAME);
      const found: PendingReceipt[] = [];
      for (const request of await cache.keys()) {
        const response = await cache.match(request);
        const parsed = PendingReceipt.safeParse(await response?.json().catch(() => null));
        if (parsed.success) found.push(parsed.data);
        else await cache.delete(request);
      }
      return found;
    },
  };
}
