/**
 * Another account's SOS while one account uploads its daily maximum of sensor samples (issue #13 item 3): the real
 * server (`buildApp`, default quotas) listening on a loopback port in this process, on a fresh migrated database
 * per target, driven over HTTP by two phones, each its own process (sos-beside-upload-phone.ts): a client in the
 * server's process would charge its own work (sending 100,000-sample bodies, reading answers) to the server.
 *
 * 1. Account B's SOS alone: `incident.trigger@1` on the critical lane of B's phone, SOS_ALONE tries in a row.
 * 2. Account A uploads `DEFAULT_SYNC_QUOTAS.samplesPerDay` samples in pushes of `samplesPerPush` (the most one push
 *    may carry), from UPLOAD_DEVICES devices at once, each pushing its share one push after another; the bodies are
 *    gzipped before the clock starts. Meanwhile B sends an SOS every SOS_EVERY_MS (due times fixed in advance);
 *    latency counts from the due time to B's response, so a timer held up by a busy event loop is charged to it.
 *    The server's event loop's longest stall during the upload is read from `monitorEventLoopDelay`.
 * 3. Checks: every push answered `ok`, A's samples and B's incidents all committed, and one more sample from A is
 *    refused with 429 (the day's quota is exactly used).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { and, count, eq } from 'drizzle-orm';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { emergencyIncidents, sensorReadings } from '@vitalwatch/schema/db/tables';
import { DEFAULT_SYNC_QUOTAS } from '@vitalwatch/sync-server/sync/push-quotas';
import { BULK_STEP_SAMPLES } from '@vitalwatch/sync-server/sync/run-bulk-push';
import type { BenchTarget, TargetName } from './bench-targets.ts';
import { cpuSince, sampleCpu, type CpuUse } from './machine-info.ts';
import { latencyStats, startServer, type LatencyStats } from './push-bench.ts';
import type { PhoneCommand, PhoneJob, PhoneReport } from './sos-beside-upload-phone.ts';

export type SosBesideUploadPlan = {
  sosAlone: number;
  sosEveryMs: number;
  uploadDevices: number;
  /** Samples per bulk step; the server's default for the database kind (BULK_STEP_SAMPLES) when missing. */
  stepSamples?: number;
};

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
  const credentials = JSON.stringify({
    email: `bench-fair-${newId()}@example.invalid`,
    password: 'a long enough bench passphrase',
  });
  const headers = { 'content-type': 'application/json' };
  const up = await fetch(`${url}/auth/v1/signup`, { method: 'POST', headers, body: credentials });
  if (!up.ok) throw new Error(`sign-up: ${up.status} ${await up.text()}`);
  // Sign-up answers the user without a session (SE45); the session comes from signing in.
  const response = await fetch(`${url}/auth/v1/token?grant_type=password`, {
    method: 'POST',
    headers,
    body: credentials,
  });
  if (!response.ok) throw new Error(`sign-in: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { access_token: string; user: { id: UserId } };
  return { token: body.access_token, userId: body.user.id };
}

type Phone = {
  child: ChildProcess;
  /** The phone's next report of `type` (rejects if it fails or exits first). */
  next<T extends PhoneReport['type']>(type: T): Promise<Extract<PhoneReport, { type: T }>>;
};

function startPhone(job: PhoneJob): Phone {
  const child = fork(new URL('./sos-beside-upload-phone.ts', import.meta.url), {
    execArgv: ['--import', 'tsx'],
  });
  child.send(job);
  return {
    child,
    next: (type) =>
      new Promise((resolve, reject) => {
        const onMessage = (message: PhoneReport) => {
          if (message.type === 'failed') reject(new Error(`${job.role} phone: ${message.message}`));
          else if (message.type === type) resolve(message as never);
          else return;
          child.off('message', onMessage);
          child.off('exit', onExit);
        };
        const onExit = (code: number | null) =>
          reject(new Error(`${job.role} phone exited (${code}) before reporting ${type}`));
        child.on('message', onMessage);
        child.once('exit', onExit);
      }),
  };
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
  const stepSamples = plan.stepSamples ?? BULK_STEP_SAMPLES[target.database.kind];
  const app = await startServer(target, stepSamples);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const url = `http://127.0.0.1:${address.port}`;
  const phones: ChildProcess[] = [];
  try {
    const a = await signUp(url);
    const b = await signUp(url);
    const job = { url, ...plan };
    const sosPhone = startPhone({ role: 'sos', token: b.token, ...job });
    const uploadPhone = startPhone({ role: 'upload', token: a.token, ...job });
    phones.push(sosPhone.child, uploadPhone.child);

    const alone = await sosPhone.next('alone');
    const { pushes } = await uploadPhone.next('ready');

    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const during = sosPhone.next('during');
    // If the upload fails, the SOS phone is ended in `finally`: the upload's error is the one to report.
    during.catch(() => undefined);
    const uploaded = uploadPhone.next('uploaded');
    sosPhone.child.send('start' satisfies PhoneCommand);
    uploadPhone.child.send('start' satisfies PhoneCommand);
    const { seconds, overQuotaStatus } = await uploaded;
    sosPhone.child.send('stop' satisfies PhoneCommand);
    const { ms, triggers } = await during;
    loop.disable();

    const { samplesPerDay } = DEFAULT_SYNC_QUOTAS;
    const rows = await countRows(target, a.userId, b.userId);
    if (rows.samples !== samplesPerDay || rows.incidents !== triggers) {
      throw new Error(
        `committed ${JSON.stringify(rows)}, expected ${samplesPerDay} samples, ${triggers} incidents`,
      );
    }
    if (overQuotaStatus !== 429) throw new Error(`the day's quota should be used up: ${overQuotaStatus}`);

    return {
      target: target.name,
      serverVersion: target.serverVersion,
      stepSamples,
      alone: latencyStats(alone.ms),
      duringUpload: latencyStats(ms),
      upload: { samples: samplesPerDay, pushes, seconds, samplesPerSecond: samplesPerDay / seconds },
      eventLoopMaxMs: loop.max / 1e6,
      cpu: cpuSince(cpuAtStart),
    };
  } finally {
    for (const child of phones) if (child.exitCode === null) child.kill();
    await app.close();
  }
}
