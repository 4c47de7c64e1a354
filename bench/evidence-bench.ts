/**
 * Evidence upload over a weak link (issue #6 item 6): a 5 MB recording through a link that cuts the connection
 * each time another ~1 MB has gone from the device to the server. The real server (embedded store, tus), the real
 * tus-js-client with the web client's settings (6 MiB chunks, fingerprint from the file id, stored upload URL),
 * the TCP proxy of the server's resumable-upload test counting every byte the device sent, headers included.
 * Target: bytes sent / file size ≤ 1.1, and the stored file's hash equal to the device's.
 *
 * Run: `pnpm bench:evidence` (PGlite) or with BENCH_DATABASE_URL=postgres://… (a fresh database is created).
 * Each run writes bench/results/evidence-<database>-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { newId } from '@vitalwatch/schema/ids';
import { queryRows } from '@vitalwatch/sync-server/db/query-rows';
import { startDroppingProxy } from '../sync-server/test/dropping-proxy.ts';
import {
  fakeWebm,
  MemoryUrlStorage,
  runUpload,
  sha256Hex,
  signUp,
  startStorageServer,
} from '../sync-server/test/storage-test-kit.ts';
import { openBenchDatabase } from './bench-database.ts';
import { loadAverage, readMachineInfo } from './machine-info.ts';
import { median } from './stats.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 10);
const FILE_BYTES = 5_000_000;
const DROP_EVERY = 1_000_000;

const info = readMachineInfo();
const bench = await openBenchDatabase('vw_evidence_bench');
const server = await startStorageServer(bench.database);
const runs: Array<{ ratio: number; drops: number; seconds: number; hashOk: boolean }> = [];
try {
  const user = await signUp(server);
  for (let i = 0; i < RUNS; i++) {
    const proxy = await startDroppingProxy(new URL(server.url), DROP_EVERY);
    try {
      const file = fakeWebm(FILE_BYTES);
      const objectName = `user-${user.userId}/incident-${newId()}/audio-${newId()}.webm`;
      const started = performance.now();
      await runUpload({
        baseUrl: proxy.url,
        token: user.token,
        file,
        bucket: 'emergency',
        objectName,
        contentType: 'audio/webm',
        fingerprint: `media-${newId()}`,
        urlStorage: new MemoryUrlStorage(),
        retryDelays: [0, 100, 250, 500, 1000, 2000],
      });
      const seconds = (performance.now() - started) / 1000;
      const [row] = await queryRows<{ sha256: string }>(
        bench.database.db,
        sql`select sha256 from media_files where object_path = ${objectName}`,
      );
      runs.push({
        ratio: proxy.bytesFromClient() / FILE_BYTES,
        drops: proxy.drops(),
        seconds,
        hashOk: row?.sha256 === sha256Hex(file),
      });
    } finally {
      await proxy.close();
    }
  }
} finally {
  await server.close();
  await bench.drop();
}

const ratios = runs.map((r) => r.ratio);
const result = {
  at: new Date().toISOString(),
  database: bench.kind,
  method: `${RUNS} uploads of ${FILE_BYTES} bytes through a proxy cutting the connection every ${DROP_EVERY} bytes`,
  machine: { ...info, loadAverageAtEnd: loadAverage() },
  runs,
  ratio: { median: median(ratios), max: Math.max(...ratios), min: Math.min(...ratios) },
};
const file = path.join(
  import.meta.dirname,
  'results',
  `evidence-${bench.kind}-${result.at.slice(0, 19).replaceAll(':', '-')}Z.json`,
);
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(
  `evidence upload, ${bench.kind}: bytes sent / size median ${result.ratio.median.toFixed(4)}, ` +
    `min ${result.ratio.min.toFixed(4)}, max ${result.ratio.max.toFixed(4)} over ${RUNS} runs ` +
    `(drops ${runs.map((r) => r.drops).join(',')}; ${runs.map((r) => r.seconds.toFixed(1)).join(', ')} s); ` +
    `load ${info.loadAverageAtStart} → ${loadAverage()}; hash equal in ${runs.filter((r) => r.hashOk).length}/${RUNS}\n` +
    path.relative(process.cwd(), file),
);
if (runs.some((r) => !r.hashOk)) process.exitCode = 1;
