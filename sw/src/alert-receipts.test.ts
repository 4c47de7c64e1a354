import { describe, expect, it } from 'vitest';
import { ALERT_RECEIPTS_PATH, type AlertReceipt } from '@vitalwatch/schema/protocol/alert-receipt';
import { RECEIPT_RETRY_DELAYS_MS } from '@vitalwatch/web/sync/report-receipt.ts';
import {
  flushReceipts,
  RECEIPT_KEEP_MS,
  reportShown,
  type PendingReceipt,
  type ReceiptStore,
  type WorkerReceiptDeps,
} from './alert-receipts.ts';

const ORIGIN = 'https://vitalwatch.example';
const RECEIPT: AlertReceipt = {
  incidentId: '01939a4e-0000-7000-8000-000000000000',
  receipt: '01939a4e-0000-7000-8000-000000000001.AAAAAAAAAAAAAAAAAAAAAA',
};

type Answer = number | 'network' | { status: number; retryAfter: string };

/** A server that answers each POST with the next of `answers` (the last one repeats), and the worker's other parts. */
function worker(answers: Answer[]) {
  const posts: Array<{ url: string; body: unknown }> = [];
  const slept: number[] = [];
  const syncs: string[] = [];
  const saved = new Map<string, PendingReceipt>();
  const clock = { ms: 1_000_000 };
  const store: ReceiptStore = {
    put: async (r) => void saved.set(r.receipt, r),
    remove: async (r) => void saved.delete(r.receipt),
    list: async () => [...saved.values()],
  };
  const deps: WorkerReceiptDeps = {
    origin: ORIGIN,
    fetch: async (input, init) => {
      posts.push({ url: input as string, body: JSON.parse(init?.body as string) });
      const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
      if (answer === 'network') throw new TypeError('Failed to fetch');
      if (typeof answer === 'number') return new Response('{}', { status: answer });
      return new Response('{}', { status: answer.status, headers: { 'retry-after': answer.retryAfter } });
    },
    sleep: async (ms) => {
      slept.push(ms);
      clock.ms += ms;
    },
    now: () => clock.ms,
    store,
    requestSync: async () => void syncs.push('sync'),
  };
  return { deps, posts, slept, syncs, saved, clock };
}

describe('the service worker’s receipts', () => {
  it('[AL31] a flaky link: tries again with a growing delay (longer when the server asks) until the server records it', async () => {
    const w = worker(['network', { status: 503, retryAfter: '10' }, 'network', 200]);
    expect(await reportShown(w.deps, RECEIPT)).toBe('recorded');
    expect(w.posts).toHaveLength(4);
    for (const post of w.posts)
      expect(post).toEqual({ url: `${ORIGIN}${ALERT_RECEIPTS_PATH}`, body: RECEIPT });
    expect(w.slept).toEqual([1_000, 10_000, 4_000]);
    expect(w.saved.size).toBe(0);
    expect(w.syncs).toEqual([]);
  });

  it('[AL31] a link down for the whole push event: the receipt waits, a Background Sync is asked for, and the sync sends it', async () => {
    const w = worker(['network']);
    expect(await reportShown(w.deps, RECEIPT)).toBe('retry');
    expect(w.posts).toHaveLength(RECEIPT_RETRY_DELAYS_MS.length + 1);
    expect(w.slept).toEqual([...RECEIPT_RETRY_DELAYS_MS]);
    expect(w.syncs).toEqual(['sync']);
    expect([...w.saved.values()]).toEqual([{ ...RECEIPT, shownAt: 1_000_000 }]);

    // Still down at the first sync: it stays; back up at the next: sent and gone.
    expect(await flushReceipts(w.deps)).toBe(1);
    const back = worker([200]);
    const deps = { ...back.deps, store: w.deps.store, now: w.deps.now };
    expect(await flushReceipts(deps)).toBe(0);
    expect(back.posts).toEqual([{ url: `${ORIGIN}${ALERT_RECEIPTS_PATH}`, body: RECEIPT }]);
    expect(w.saved.size).toBe(0);
  });

  it('[AL31] a refused receipt (404, 400) is not tried again', async () => {
    for (const status of [404, 400]) {
      const w = worker([status]);
      expect(await reportShown(w.deps, RECEIPT)).toBe('refused');
      expect(w.posts).toHaveLength(1);
      expect(w.slept).toEqual([]);
      expect(w.saved.size).toBe(0);
    }
  });

  it('[AL31] a receipt kept longer than a day is dropped unsent', async () => {
    const w = worker(['network']);
    await reportShown(w.deps, RECEIPT);
    const sent = w.posts.length;
    w.clock.ms += RECEIPT_KEEP_MS + 1;
    expect(await flushReceipts(w.deps)).toBe(0);
    expect(w.posts).toHaveLength(sent);
    expect(w.saved.size).toBe(0);
  });
});
