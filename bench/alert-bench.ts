/**
 * Alert dispatch speed (issue #5 §8), on loopback: the real server (buildApp with the dispatcher loop running, as
 * main.ts starts it), the embedded identity, real pushes over HTTP, and Twilio played by the local fake that
 * answers with Twilio's API shape (sync-server/test/fake-twilio.ts).
 *
 * 1. Latency: 100 SOS pushes one after another; per incident, from the push's 200 (the incident is accepted) to the
 *    arrival of the contact's SMS request at the fake Twilio. Target p95 ≤ 500 ms.
 * 2. Burst: 1,000 users press SOS at once (50 pushes in flight); each has one tier-1 contact. From the first push to
 *    the last SMS request; per incident, accepted → SMS request. Target: all dispatched, p95 ≤ 10 s, none lost or
 *    doubled.
 *
 * Beside the targets it prints where the burst's time went: how long the pushes took to be answered, the
 * dispatcher's own counters (planning, claiming, provider calls, recording), and the CPU the bench process and
 * the rest of the machine used. A burst that has not finished after BURST_TIMEOUT_MS is reported with the
 * ledger's state (rows by status) instead of waiting for ever, and the program exits 1.
 *
 * Run: `pnpm bench:alerts` (PGlite) or with BENCH_DATABASE_URL=postgres://… (a fresh database is created).
 * BENCH_CPU_PROFILE=<file> also writes a V8 CPU profile of the burst alone (open it in Chrome's DevTools).
 * Results are printed and written to bench/results/alerts-<database>-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import net from 'node:net';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { newId } from '@vitalwatch/schema/ids';
import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import { buildApp } from '@vitalwatch/sync-server/app';
import { UNTHROTTLED_HTTP_LIMITS } from '../sync-server/test/unthrottled-limits.ts';
import { generateSigningKey } from '@vitalwatch/sync-server/auth/signing-key';
import { createTwilioSms } from '@vitalwatch/sync-server/alerts/twilio/twilio-sms';
import { startFakeTwilio } from '../sync-server/test/fake-twilio.ts';
import { queryRows } from '@vitalwatch/sync-server/db/query-rows';
import type { DispatchStats } from '@vitalwatch/sync-server/alerts/dispatcher';
import { percentile, median } from './stats.ts';
import { openBenchDatabase } from './bench-database.ts';
import { cpuSince, loadAverage, readMachineInfo, sampleCpu } from './machine-info.ts';

/** How long the burst may take before the run gives up and reports what is stuck. */
const BURST_TIMEOUT_MS = Number(process.env['BURST_TIMEOUT_MS'] ?? 180_000);
const info = readMachineInfo();

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

const bench = await openBenchDatabase('vw_alert_bench');
const { database, kind } = bench;
const twilio = await startFakeTwilio();
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const key = await generateSigningKey();
const app = await buildApp({
  db: database.db,
  // A benchmark measures speed, not the request limits (one user sends thousands of requests).
  limits: UNTHROTTLED_HTTP_LIMITS,
  dbKind: database.kind,
  auth: { kind: 'embedded', key, issuer: `${url}/auth/v1`, accessTokenTtlSeconds: 3600, sessionTtlDays: 30 },
  publicUrl: url,
  webDist: null,
  alerts: {
    sms: {
      name: 'twilio',
      ...createTwilioSms({
        accountSid: twilio.accountSid,
        authToken: twilio.authToken,
        from: '+15005550006',
        messagingServiceSid: null,
        apiUrl: twilio.url,
        statusCallbackUrl: `${url}/webhooks/twilio/status`,
      }),
    },
    twilioWebhooks: { accountSid: twilio.accountSid, authToken: twilio.authToken },
    webPush: null,
    vapidPublicKey: null,
    supabaseRealtime: null,
  },
});
await app.listen({ port, host: '127.0.0.1' });

async function post(path: string, token: string | null, body: unknown) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

type User = { token: string; clientId: string; phone: string };
let phones = 0;

async function newUser(): Promise<User> {
  const credentials = { email: `bench-${newId()}@example.org`, password: 'a long enough passphrase' };
  await post('/auth/v1/signup', null, credentials);
  const signIn = await post('/auth/v1/token?grant_type=password', null, credentials);
  const user = {
    token: signIn.access_token as string,
    clientId: newId(),
    phone: `+4479${String(10_000_000 + phones++)}`,
  };
  await post('/sync/push', user.token, {
    protocolVersion: PROTOCOL_VERSION,
    clientId: user.clientId,
    lane: 'user',
    sentAt: Date.now(),
    mutations: [
      {
        seq: 1,
        name: 'contact.upsert@1',
        args: {
          id: newId(),
          fields: { name: 'Mum', tier: 1 },
          phoneE164: user.phone,
          expectedPhoneE164: null,
        },
        hlc: `${String(Date.now()).padStart(13, '0')}-0000-b1`,
        createdAt: Date.now(),
      },
    ],
  });
  return user;
}

/**
 * Pushes the SOS; resolves with the time the push was sent. The server accepts (commits) the incident somewhere
 * between then and its 200, and the SMS request usually reaches Twilio before the 200 reaches the device, so
 * "push sent → SMS request" is an upper bound of "accepted → SMS request".
 */
async function sos(user: User): Promise<number> {
  const sentAt = Date.now();
  await post('/sync/push', user.token, {
    protocolVersion: PROTOCOL_VERSION,
    clientId: user.clientId,
    lane: 'critical',
    sentAt: Date.now(),
    mutations: [
      {
        seq: 1,
        name: 'incident.trigger@1',
        args: { id: newId(), code: 'B3NC', trigger: 'panic_button', triggeredAt: Date.now() },
        hlc: `${String(Date.now()).padStart(13, '0')}-0000-b1`,
        createdAt: Date.now(),
      },
    ],
  });
  return sentAt;
}

function smsArrival(phone: string): Promise<number> {
  return twilio
    .waitForRequest((r) => r.method === 'POST' && r.params['To'] === phone)
    .then((r) => r.at.getTime());
}

async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

// 1. Latency, one SOS at a time.
const latencyUsers = await inBatches(Array.from({ length: 100 }), 10, () => newUser());
const latencies: number[] = [];
for (const user of latencyUsers) {
  const arrival = smsArrival(user.phone);
  const accepted = await sos(user);
  latencies.push(Math.max(0, (await arrival) - accepted));
}

// 2. Burst of 1,000.
const burstUsers = await inBatches(Array.from({ length: 1000 }), 20, () => newUser());
const dispatcher = app.alerts!;
const profileFile = process.env['BENCH_CPU_PROFILE'];
const profiler = profileFile ? new Session() : null;
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
const statsBefore = dispatcher.stats();
const cpuBefore = sampleCpu();
const loadAtBurst = loadAverage();
const before = twilio.messages.length;
const start = Date.now();
const arrivals = burstUsers.map((u) => smsArrival(u.phone));
const answeredAfter: number[] = [];
const accepted = await inBatches(burstUsers, 50, async (u) => {
  const sentAt = await sos(u);
  answeredAfter.push(Date.now() - sentAt);
  return sentAt;
});
const lastAnswerMs = Date.now() - start;
const outcome = await Promise.race([
  Promise.all(arrivals),
  new Promise<'timeout'>((resolve) => setTimeout(resolve, BURST_TIMEOUT_MS, 'timeout').unref()),
]);
const burstWallS = (Date.now() - start) / 1000;
if (profiler && profileFile) {
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(profileFile, JSON.stringify(profile));
  profiler.disconnect();
}
const cpu = cpuSince(cpuBefore);
const statsAfter = dispatcher.stats();
const sent = twilio.messages.length - before;
const doubled = burstUsers.filter((u) => twilio.messages.filter((m) => m.to === u.phone).length > 1).length;
const missing = burstUsers.filter((u) => !twilio.messages.some((m) => m.to === u.phone)).length;

const round = (ms: number) => `${Math.round(ms)} ms`;
const statKeys = Object.keys(statsAfter) as (keyof DispatchStats)[];
const dispatch = Object.fromEntries(statKeys.map((k) => [k, Math.round(statsAfter[k] - statsBefore[k])]));
const ledgerByStatus =
  outcome === 'timeout'
    ? await queryRows<{ status: string; n: number }>(
        database.db,
        sql`select status, count(*)::int as n from alert_logs group by status order by status`,
      )
    : undefined;
const burst =
  outcome === 'timeout'
    ? { incidents: burstUsers.length, timedOutAfterMs: BURST_TIMEOUT_MS, smsRequests: sent, missing, doubled }
    : {
        incidents: burstUsers.length,
        smsRequests: sent,
        lost: missing,
        doubled,
        allDispatchedMs: Math.max(...outcome) - start,
        perIncidentMedian: round(median(outcome.map((t, i) => Math.max(0, t - accepted[i]!)))),
        perIncidentP95: round(
          percentile(
            outcome.map((t, i) => Math.max(0, t - accepted[i]!)),
            95,
          ),
        ),
      };
const result = {
  at: new Date().toISOString(),
  database: kind,
  machine: { ...info, loadAverageAtBurst: loadAtBurst, loadAverageAtEnd: loadAverage() },
  latency: {
    runs: latencies.length,
    median: round(median(latencies)),
    p95: round(percentile(latencies, 95)),
    max: round(Math.max(...latencies)),
  },
  burst,
  burstDiagnostics: {
    pushAnswered: {
      median: round(median(answeredAfter)),
      p95: round(percentile(answeredAfter, 95)),
      lastAnsweredAfterStart: round(lastAnswerMs),
    },
    dispatcher: dispatch,
    cpuSeconds: cpu && {
      benchProcess: Number(cpu.ownSeconds.toFixed(1)),
      restOfMachine: Number(cpu.othersSeconds.toFixed(1)),
      steal: Number(cpu.stealSeconds.toFixed(1)),
      wall: Number(burstWallS.toFixed(1)),
    },
    ...(ledgerByStatus && { ledgerByStatus }),
  },
};
console.log(JSON.stringify(result, null, 2));
const resultsDir = path.join(import.meta.dirname, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = path.join(
  resultsDir,
  `alerts-${kind}-${result.at.replaceAll(':', '-').replace(/\..*$/, 'Z')}.json`,
);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`recorded in ${path.relative(process.cwd(), file)}`);
await app.close();
await twilio.close();
await bench.drop();
if (outcome === 'timeout') process.exitCode = 1;
