/**
 * An exclusive lock on an embedded data directory, held for as long as the process that took it lives.
 *
 * The lock is the file `vitalwatch.lock`: who holds it (pid, the process's start time from /proc, the boot id and
 * the host name), created with an atomic `link` so it is never seen half-written. It is stale only when its holder
 * is gone: same host and boot, and that pid is no longer running or is now another process (another start time),
 * or the machine has rebooted since. Nothing is refreshed, so a holder whose event loop is busy for seconds (PGlite
 * runs each statement synchronously, docs/platform-facts.md) or a process that is stopped keeps its lock; a timer-based
 * lock (the proper-lockfile lock before, stale 5 s after its last refresh) let a second server in beside a busy one.
 *
 * A lock from another host (a container, a network file system) cannot be checked and is never taken over: the
 * message names its holder, and the operator removes the file once that server is gone. A lock directory left by
 * a version that used proper-lockfile is stale when its mtime is over 5 s old, as it was then.
 *
 * Taking over a stale lock moves it aside under a name of our own (`rename`, which only one process wins) and
 * checks that what was moved is the lock judged stale; a live lock moved by mistake in that instant is put back.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export type DataDirLock = { release(): Promise<void> };

export class DataDirLockedError extends Error {}

/** Who holds a lock; `startTime`/`bootId` are null where /proc is not there (then the pid alone decides). */
export type LockHolder = { pid: number; startTime: string | null; bootId: string | null; host: string };

export const LOCK_FILE = 'vitalwatch.lock';
/** How stale a proper-lockfile lock directory (older versions) had to be: its owner refreshed it every second. */
const LEGACY_STALE_MS = 5_000;
/** How often the holder checks that nobody removed or replaced its lock (it exits if so, as before). */
const CHECK_EVERY_MS = 5_000;
const ATTEMPTS = 5;

function readProc(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot; null when there is no such
 * process, it is a zombie (dead, not yet reaped), or there is no /proc.
 */
export function processStartTime(pid: number): string | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself: split after the last.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  return fields[19] ?? null;
}

function bootId(): string | null {
  return readProc('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
}

export function currentHolder(): LockHolder {
  return {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    bootId: bootId(),
    host: os.hostname(),
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `holder` is certainly gone. A holder on another host is never judged gone: we cannot see it. */
export function holderIsGone(holder: LockHolder, here: LockHolder = currentHolder()): boolean {
  if (holder.host !== here.host) return false;
  if (holder.bootId !== null && here.bootId !== null && holder.bootId !== here.bootId) return true;
  if (holder.startTime !== null && here.startTime !== null) {
    return processStartTime(holder.pid) !== holder.startTime;
  }
  return !isRunning(holder.pid);
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return null;
    const { pid, startTime, bootId: boot, host } = value as Record<string, unknown>;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || typeof host !== 'string')
      return null;
    const optional = (v: unknown) => (typeof v === 'string' ? v : null);
    return { pid, startTime: optional(startTime), bootId: optional(boot), host };
  } catch {
    return null;
  }
}

function describeHolder(holder: LockHolder): string {
  return `process ${holder.pid} on ${holder.host}`;
}

function lockedError(dataDir: string, lockPath: string, holder: LockHolder | null, here: LockHolder) {
  const who = holder === null ? 'another VitalWatch process' : describeHolder(holder);
  const remote =
    holder !== null && holder.host !== here.host
      ? ` That host cannot be checked from here: once no VitalWatch server runs there on this folder, delete ${lockPath}.`
      : '';
  return new DataDirLockedError(
    `the data directory ${dataDir} is in use by another VitalWatch process (${who}; lock ${lockPath}). ` +
      `Stop that process, or give this one its own DATA_DIR.${remote}`,
  );
}

async function statOrNull(file: string): Promise<Stats | null> {
  try {
    return await fs.stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Creates the lock file with our record, or returns false when one exists. */
async function tryCreate(lockPath: string, record: string): Promise<boolean> {
  const temp = `${lockPath}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await fs.writeFile(temp, record, { mode: 0o644 });
  try {
    await fs.link(temp, lockPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/**
 * Moves the stale lock whose text is `staleText` out of the way. Returns false when it was not there any more
 * (someone else took it over first) or when what we moved was not it (then it is put back).
 */
async function moveStaleAside(lockPath: string, staleText: string): Promise<boolean> {
  const aside = `${lockPath}.stale.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    await fs.rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const moved = await readOrNull(aside);
  if (moved === staleText) {
    await fs.rm(aside, { force: true });
    return true;
  }
  // A live lock was created in the instant between our read and our rename: give it back.
  await fs.link(aside, lockPath).catch(() => undefined);
  await fs.rm(aside, { force: true });
  return false;
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await fs.mkdir(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, LOCK_FILE);
  const here = currentHolder();
  const record = `${JSON.stringify(here)}\n`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const stat = await statOrNull(lockPath);
    if (stat?.isDirectory() === true) {
      // proper-lockfile's lock from an older version: stale as it was judged then.
      if (Date.now() - stat.mtimeMs <= LEGACY_STALE_MS) throw lockedError(dataDir, lockPath, null, here);
      await fs.rm(lockPath, { recursive: true, force: true });
      continue;
    }
    if (await tryCreate(lockPath, record)) return holdLock(dataDir, lockPath, record);
    const text = await readOrNull(lockPath);
    if (text === null) continue; // released meanwhile
    const holder = parseHolder(text);
    if (holder === null) {
      throw new DataDirLockedError(
        `the lock file ${lockPath} cannot be read, so this server cannot tell whether another one uses ` +
          `${dataDir}. If no VitalWatch server runs on this folder, delete the file and start again.`,
      );
    }
    if (!holderIsGone(holder, here)) throw lockedError(dataDir, lockPath, holder, here);
    await moveStaleAside(lockPath, text);
  }
  throw lockedError(dataDir, lockPath, null, here);
}

function holdLock(dataDir: string, lockPath: string, record: string): DataDirLock {
  // Only for a lock file removed or replaced by hand: going on could corrupt the database.
  const check = setInterval(() => {
    void readOrNull(lockPath).then((text) => {
      if (text === record) return;
      console.error(`fatal: lost the lock on ${dataDir}: ${lockPath} was removed or replaced`);
      process.exit(1);
    });
  }, CHECK_EVERY_MS);
  check.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(check);
      if ((await readOrNull(lockPath)) === record) await fs.rm(lockPath, { force: true });
    },
  };
}
