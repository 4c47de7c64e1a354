/** The machine and versions a result belongs to: numbers without them cannot be compared (docs/coding-habits.md §15). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export type MachineInfo = {
  nproc: string;
  freeG: string;
  kernel: string;
  cpuModel: string;
  node: string;
  /** Other work on the machine skews every figure: recorded at start (and by run.ts at the end). */
  loadAverageAtStart: string;
  packages: Record<string, string>;
};

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 5_000 }).trimEnd();
  } catch (error) {
    return `(${command} failed: ${error instanceof Error ? error.message : String(error)})`;
  }
}

/** A dependency's version from its package.json, found by walking up from its resolved entry point. */
function packageVersion(name: string): string {
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve(name));
    for (;;) {
      try {
        const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as unknown;
        if (
          typeof manifest === 'object' &&
          manifest !== null &&
          'name' in manifest &&
          manifest.name === name
        ) {
          return 'version' in manifest ? String(manifest.version) : 'unknown';
        }
      } catch {
        // no package.json at this level
      }
      const parent = path.dirname(dir);
      if (parent === dir) return 'unknown';
      dir = parent;
    }
  } catch {
    return 'not installed';
  }
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(' / ');
}

export function readMachineInfo(): MachineInfo {
  return {
    nproc: run('nproc', []),
    freeG: run('free', ['-g']),
    kernel: run('uname', ['-r']),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadAverageAtStart: loadAverage(),
    packages: Object.fromEntries(
      ['@electric-sql/pglite', 'drizzle-orm', 'pg'].map((name) => [name, packageVersion(name)] as const),
    ),
  };
}

/** Machine-wide CPU seconds (all cores) from /proc/stat, and this process's own; null where /proc is absent. */
export type CpuSample = { machineBusy: number; steal: number; ownProcess: number } | null;

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux we run on (`getconf CLK_TCK`)

export function sampleCpu(): CpuSample {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const own = process.cpuUsage();
    return {
      machineBusy: (user + nice + system + irq + softirq) / CLOCK_TICKS_PER_SECOND,
      steal: steal / CLOCK_TICKS_PER_SECOND,
      ownProcess: (own.user + own.system) / 1e6,
    };
  } catch {
    return null;
  }
}

/**
 * CPU spent between two samples. `others` is machine-wide busy time not spent by this process: on PGlite it
 * should be near zero (anything else is another program competing for the 2 cores); on Postgres it includes the
 * server's own backend. `steal` is time the hypervisor gave to other VMs.
 */
export type CpuUse = { ownSeconds: number; othersSeconds: number; stealSeconds: number } | null;

export function cpuSince(start: CpuSample): CpuUse {
  const end = sampleCpu();
  if (start === null || end === null) return null;
  const ownSeconds = end.ownProcess - start.ownProcess;
  return {
    ownSeconds,
    othersSeconds: Math.max(0, end.machineBusy - start.machineBusy - ownSeconds),
    stealSeconds: end.steal - start.steal,
  };
}

export function formatCpuUse(use: CpuUse, wallSeconds: number): string {
  if (use === null) return `wall ${wallSeconds.toFixed(1)} s`;
  return (
    `wall ${wallSeconds.toFixed(1)} s, bench process CPU ${use.ownSeconds.toFixed(1)} s, ` +
    `other CPU on the machine ${use.othersSeconds.toFixed(1)} s, steal ${use.stealSeconds.toFixed(1)} s`
  );
}
