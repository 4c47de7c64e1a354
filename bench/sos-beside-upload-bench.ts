/**
 * Another account's SOS while one account uploads its daily maximum of sensor samples (issue #13 item 3): the real
 * server (`buildApp`, default quotas) listening on a loopback port, driven over HTTP with `fetch` from this
 * process, on a fresh migrated database per target.
 *
 * 1. Account B's SOS alone: `incident.trigger@1` on the critical lane of B's phone, SOS_ALONE tries in a row.
 * 2. Account A uploads `DEFAULT_SYNC_QUOTAS.samplesPerDay` samples in pushes of `samplesPerPush` (the most one push
 *    may carry), from UPLOAD_DEVICES devices at once, each pushing its share one push after another; the bodies are
 *    gzipped before the clock starts. Meanwhile B sends an SOS every SOS_EVERY_MS (due times fixed in advance);
 *    latency counts from the due time to B's response, so a timer held up by a busy event loop is charged to it.
 *    The event loop's longest stall during the upload is read from `monitorEventLoopDelay`.
 * 3. Checks: every push answered `ok`, A's samples and B's incidents all committed, and one more sample from A is
 *    refused with 429 (the day's quota is exactly used).
 *
 * The server and this client share one process (and on PGlite the database too): what blocks the server's event
 * loop also delays B's requests, as it would delay a separate client's on the server side.
 */
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { and, count, eq } from 'drizzle-orm';
import { seededRandom } from '@vitalwatch/schema/seeded-random';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { emergencyIncidents, sensorReadings } from '@vitalwatch/schema/db/tables';
import type { PushResponse } from '@vitalwatch/schema/protocol/push-response';
import { MAX_SAMPLES_PER_ENTRY } from '@vitalwatch/schema/protocol/mutators';
import { DEFAULT_SYNC_QUOTAS } from '@vitalwatch/sync-server/sync/push-quotas';
import { BULK_STEP_SAMPLES } from '@vitalwatch/sync-server/sync/run-bulk-push';
import type { BenchTarget, TargetName } from './bench-targets.ts';
import { cpuSince, sampleCpu, type CpuUse } from './machine-info.ts';
import {
  LaneOutbox,
  latencyStats,
  sampleBatch,
  startServer,
  triggerArgs,
  type LatencyStats,
} from './push-bench.ts';

export type SosBesideUploadPlan = { sosAlone: number; sosEveryMs: number; uploadDevices: number };

export type SosBesideUploadResult = {
  target: TargetName;
  serverVersion: string;
  stepSamples: number;
  alone: LatencyStats;
  duringUpload: LatencyStats;
  upload: { samples: number; pushes: number; seconds: number; samplesPerSecond: number };
  /** The event loop's longest stall during the upload, ms. */
  eventLoopMaxMs: number;
  cpu: CpuUse;
};

/** Issue #13 item 3: another account's SOS commit p95 while one account pushes its daily maximum, on loopback. */
export const SOS_BESIDE_UPLOAD_TARGET_MS = 250;

type Account = { token: string; userId: UserId };

async function signUp(url: string): Promise<Account> {
  const response = await fetch(`${url}/auth/v1/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `bench-fair-${newId()}@example.invalid`,
      password: 'a long enough bench passphrase',
    }),
  });
  if (!response.ok) throw new Error(`sign-up: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { access_token: string; user: { id: UserId } };
  return { token: body.access_token, userId: body.user.id };
}

async function post(url: string, account: Account, body: Buffer): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${url}/sync/push`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      authorization: `Bearer ${account.token}`,
    },
    body: new Uint8Array(body),
  });
  return { status: response.status, json: await response.json() };
}

/** A push whose every mutation must be answered `ok` (and, when `lastSeq` is given, the lane there). */
async function pushOk(
  url: string,
  account: Account,
  body: Buffer,
  lane: string,
  lastSeq?: number,
): Promise<void> {
  const { status, json } = await post(url, account, body);
  const response = json as PushResponse;
  const badSeq = lastSeq !== undefined && response.lastSeq !== lastSeq;
  if (status !== 200 || badSeq || response.results.some((r) => r.status !== 'ok')) {
    throw new Error(`${lane} push: ${status} ${JSON.stringify(json).slice(0, 300)}`);
  }
}

async function countRows(target: BenchTarget, a: UserId, b: UserId) {
  const { db } = target.database;
  const [samples] = await db.select({ n: count() }).from(sensorReadings).where(eq(sensorReadings.userId, a));
  const [incidents] = await db
    .select({ n: count() })
    .from(emergencyIncidents)
    .where(and(eq(emergencyIncidents.userId, b), eq(emergencyIncidents.status, 'active')));
  return { samples: samples?.n ?? 0, incidents: incidents?.n ?? 0 };
}

export async function benchSosBesideUpload(
  target: BenchTarget,
  plan: SosBesideUploadPlan,
): Promise<SosBesideUploadResult> {
  const cpuAtStart = sampleCpu();
  const app = await startServer(target);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const url = `http://127.0.0.1:${address.port}`;
  try {
    const a = await signUp(url);
    const b = await signUp(url);
    const phone = new LaneOutbox('critical');
    let triggers = 0;
    const sos = async () => {
      const body = phone.next([{ name: 'incident.trigger@1', args: triggerArgs(triggers++) }]);
      await pushOk(url, b, body, 'critical', phone.lastSeq);
    };

    const alone: number[] = [];
    for (let n = -1; n < plan.sosAlone; n++) {
      const started = performance.now();
      await sos();
      if (n >= 0) alone.push(performance.now() - started);
    }

    // A's day: pushes of the most one push may carry, split over the devices, built and gzipped beforehand.
    const { samplesPerDay, samplesPerPush } = DEFAULT_SYNC_QUOTAS;
    const random = seededRandom(13);
    const devices = Array.from({ length: plan.uploadDevices }, () => new LaneOutbox('bulk'));
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
    const pushes = bodies.reduce((total, list) => total + list.length, 0);

    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const uploadStarted = performance.now();
    let uploading = true;
    const upload = Promise.all(
      devices.map(async (device, i) => {
        // A device's pushes go one after another, as the app sends them.
        for (const body of bodies[i]!) await pushOk(url, a, body, device.lane);
      }),
    ).finally(() => {
      uploading = false;
    });
    const during: number[] = [];
    const sosLoop = (async () => {
      for (let due = uploadStarted + plan.sosEveryMs; uploading; due += plan.sosEveryMs) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (!uploading) break;
        await sos();
        during.push(performance.now() - due);
        // A late SOS does not pile up: the next is due after this one answered.
        if (performance.now() > due + plan.sosEveryMs) due = performance.now() - plan.sosEveryMs;
      }
    })();
    await Promise.all([upload, sosLoop]);
    const seconds = (performance.now() - uploadStarted) / 1000;
    loop.disable();

    const rows = await countRows(target, a.userId, b.userId);
    if (rows.samples !== samplesPerDay || rows.incidents !== triggers) {
      throw new Error(
        `committed ${JSON.stringify(rows)}, expected ${samplesPerDay} samples, ${triggers} incidents`,
      );
    }
    const extra = new LaneOutbox('bulk');
    const over = await post(
      url,
      a,
      extra.next([{ name: 'samples.append@2', args: sampleBatch(random, sampleIndex, 1).args }]),
    );
    if (over.status !== 429) throw new Error(`the day's quota should be used up: ${over.status}`);

    return {
      target: target.name,
      serverVersion: target.serverVersion,
      stepSamples: BULK_STEP_SAMPLES[target.database.kind],
      alone: latencyStats(alone),
      duringUpload: latencyStats(during),
      upload: { samples: samplesPerDay, pushes, seconds, samplesPerSecond: samplesPerDay / seconds },
      eventLoopMaxMs: loop.max / 1e6,
      cpu: cpuSince(cpuAtStart),
    };
  } finally {
    await app.close();
  }
}
