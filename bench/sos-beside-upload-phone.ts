/**
 * One phone of the SOS-beside-upload bench (sos-beside-upload-bench.ts), run as its own process (`fork`): real
 * phones are other machines, and a client sharing the server's process would charge its own work (building and
 * sending 100,000-sample bodies, reading answers) to the server's event loop and to the other phone's SOS.
 *
 * Roles, from the parent's first message:
 * - `sos` (account B): SOS_ALONE triggers in a row, answered `alone`; on `start`, an SOS every `sosEveryMs` (due
 *   times fixed in advance, latency from the due time to the answer) until `stop`, answered `during`.
 * - `upload` (account A): builds the day's pushes and gzips them, answered `ready`; on `start`, sends them from
 *   `uploadDevices` devices at once, each device's pushes one after another, then one more sample that must be
 *   refused with 429 (the day's quota is exactly used), answered `uploaded`.
 */
import { performance } from 'node:perf_hooks';
import { seededRandom } from '@vitalwatch/schema/seeded-random';
import type { PushResponse } from '@vitalwatch/schema/protocol/push-response';
import { MAX_SAMPLES_PER_ENTRY } from '@vitalwatch/schema/protocol/mutators';
import { DEFAULT_SYNC_QUOTAS } from '@vitalwatch/sync-server/sync/push-quotas';
import { LaneOutbox, sampleBatch, triggerArgs } from './push-bench.ts';

export type PhoneJob = {
  role: 'sos' | 'upload';
  url: string;
  token: string;
  sosAlone: number;
  sosEveryMs: number;
  uploadDevices: number;
};

/** Parent → phone after the job. */
export type PhoneCommand = 'start' | 'stop';

/** Phone → parent. */
export type PhoneReport =
  | { type: 'alone'; ms: number[] }
  | { type: 'during'; ms: number[]; triggers: number }
  | { type: 'ready'; pushes: number }
  | { type: 'uploaded'; seconds: number; overQuotaStatus: number }
  | { type: 'failed'; message: string };

async function post(job: PhoneJob, body: Buffer): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${job.url}/sync/push`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      authorization: `Bearer ${job.token}`,
    },
    body: new Uint8Array(body),
  });
  return { status: response.status, json: await response.json() };
}

/** A push whose every mutation must be answered `ok` (and, when `lastSeq` is given, the lane there). */
async function pushOk(job: PhoneJob, body: Buffer, lane: string, lastSeq?: number): Promise<void> {
  const { status, json } = await post(job, body);
  const response = json as PushResponse;
  const badSeq = lastSeq !== undefined && response.lastSeq !== lastSeq;
  if (status !== 200 || badSeq || response.results.some((r) => r.status !== 'ok')) {
    throw new Error(`${lane} push: ${status} ${JSON.stringify(json).slice(0, 300)}`);
  }
}

const report = (message: PhoneReport) => process.send!(message);
const nextCommand = (expected: PhoneCommand) =>
  new Promise<void>((resolve) => {
    const listener = (message: unknown) => {
      if (message !== expected) return;
      process.off('message', listener);
      resolve();
    };
    process.on('message', listener);
  });

async function sosPhone(job: PhoneJob): Promise<void> {
  const phone = new LaneOutbox('critical');
  let triggers = 0;
  const sos = async () => {
    const body = phone.next([{ name: 'incident.trigger@1', args: triggerArgs(triggers++) }]);
    await pushOk(job, body, 'critical', phone.lastSeq);
  };
  const alone: number[] = [];
  for (let n = -1; n < job.sosAlone; n++) {
    const started = performance.now();
    await sos();
    if (n >= 0) alone.push(performance.now() - started);
  }
  report({ type: 'alone', ms: alone });

  await nextCommand('start');
  let running = true;
  void nextCommand('stop').then(() => {
    running = false;
  });
  const during: number[] = [];
  for (let due = performance.now() + job.sosEveryMs; running; due += job.sosEveryMs) {
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (!running) break;
    await sos();
    during.push(performance.now() - due);
    // A late SOS does not pile up: the next is due after this one answered.
    if (performance.now() > due + job.sosEveryMs) due = performance.now() - job.sosEveryMs;
  }
  report({ type: 'during', ms: during, triggers });
}

async function uploadPhone(job: PhoneJob): Promise<void> {
  // A's day: pushes of the most one push may carry, split over the devices, built and gzipped beforehand.
  const { samplesPerDay, samplesPerPush } = DEFAULT_SYNC_QUOTAS;
  const random = seededRandom(13);
  const devices = Array.from({ length: job.uploadDevices }, () => new LaneOutbox('bulk'));
  const bodies: Buffer[][] = devices.map(() => []);
  let sampleIndex = 0;
  for (let pushIndex = 0; pushIndex * samplesPerPush < samplesPerDay; pushIndex++) {
    const device = pushIndex % devices.length;
    const entries = [];
    const size = Math.min(samplesPerPush, samplesPerDay - pushIndex * samplesPerPush);
    for (let left = size; left > 0; left -= MAX_SAMPLES_PER_ENTRY) {
      const n = Math.min(left, MAX_SAMPLES_PER_ENTRY);
      entries.push({ name: 'samples.append@2' as const, args: sampleBatch(random, sampleIndex, n).args });
      sampleIndex += n;
    }
    bodies[device]!.push(devices[device]!.next(entries));
  }
  const extra = new LaneOutbox('bulk').next([
    { name: 'samples.append@2', args: sampleBatch(random, sampleIndex, 1).args },
  ]);
  report({ type: 'ready', pushes: bodies.reduce((total, list) => total + list.length, 0) });

  await nextCommand('start');
  const started = performance.now();
  await Promise.all(
    devices.map(async (device, i) => {
      // A device's pushes go one after another, as the app sends them.
      for (const body of bodies[i]!) await pushOk(job, body, device.lane);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const over = await post(job, extra);
  report({ type: 'uploaded', seconds, overQuotaStatus: over.status });
}

process.once('message', (job: PhoneJob) => {
  (job.role === 'sos' ? sosPhone(job) : uploadPhone(job)).then(
    () => process.disconnect(),
    (error: unknown) => {
      report({
        type: 'failed',
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      process.disconnect();
    },
  );
});
