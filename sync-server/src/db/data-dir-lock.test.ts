import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openDatabase, type Database } from './database.ts';
import {
  currentHolder,
  DataDirLockedError,
  holderIsGone,
  lockDataDir,
  LOCK_FILE,
  type LockHolder,
} from './data-dir-lock.ts';

const opened: Database[] = [];
afterEach(async () => {
  for (const database of opened.splice(0)) await database.close();
});

it('[LK1] refuses to open a PGlite data directory that another database holds, and opens it once released', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-lock-'));
  const first = await openDatabase({ kind: 'pglite', dataDir });
  opened.push(first);
  await first.migrate();
  const refused: unknown = await openDatabase({ kind: 'pglite', dataDir }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(DataDirLockedError);
  expect(String(refused)).toMatch(/in use by another VitalWatch process/);
  await first.close();
  opened.pop();
  const second = await openDatabase({ kind: 'pglite', dataDir });
  opened.push(second);
  await second.migrate(); // the data written by the first open is still there: nothing to apply
});

/** `test/lock-holder.ts` in its own process, once it holds the lock on `dataDir`. */
async function startHolder(dataDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dataDir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of waiters.splice(0)) {
      if (output.includes(waiter.text)) waiter.resolve();
      else waiters.push(waiter);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (output.includes(text)) return resolve();
      waiters.push({ text, resolve });
      void exited.then(() => reject(new Error(`holder exited before "${text}":\n${output}`)));
    });
  holders.push(child);
  await printed('locked');
  return { child, printed, exited };
}

const HOLDER = new URL('../../test/lock-holder.ts', import.meta.url).pathname;
const holders: ChildProcess[] = [];
afterEach(() => {
  for (const child of holders.splice(0)) child.kill('SIGKILL');
});

const tempDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'vw-lock-'));
const refusal = (dataDir: string) =>
  lockDataDir(dataDir).then(
    async (lock) => {
      await lock.release();
      return null;
    },
    (error: unknown) => error,
  );

it('[LK2] a holder whose event loop is blocked for 9 s keeps its lock: a second process is refused throughout', async () => {
  const dataDir = await tempDir();
  const holder = await startHolder(dataDir);
  holder.child.stdin.write('block 9000\n');
  const blockedAt = Date.now();
  expect(await refusal(dataDir)).toBeInstanceOf(DataDirLockedError);
  // Past the 5 s after which a timer-refreshed lock of a busy holder went stale.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, blockedAt + 6_500 - Date.now())));
  const late = await refusal(dataDir);
  expect(late).toBeInstanceOf(DataDirLockedError);
  expect(String(late)).toMatch(new RegExp(`process ${holder.child.pid} on `));
  await holder.printed('unblocked');
  expect(await refusal(dataDir)).toBeInstanceOf(DataDirLockedError);
}, 60_000);

it('[LK3] the lock of a process killed with SIGKILL is taken over at once by the next one', async () => {
  const dataDir = await tempDir();
  const holder = await startHolder(dataDir);
  holder.child.kill('SIGKILL');
  await holder.exited;
  const lock = await lockDataDir(dataDir);
  const record = JSON.parse(await fs.readFile(path.join(dataDir, LOCK_FILE), 'utf8')) as LockHolder;
  expect(record).toEqual(currentHolder());
  await lock.release();
  expect(await fs.readdir(dataDir)).toEqual([]);
}, 60_000);

it('[LK3] a lock naming a live pid with another start time (the pid was reused) is stale; a live one is not', () => {
  const here = currentHolder();
  expect(holderIsGone(here, here)).toBe(false);
  if (here.startTime !== null) {
    expect(holderIsGone({ ...here, startTime: `${here.startTime}0` }, here)).toBe(true);
  }
  expect(holderIsGone({ ...here, bootId: 'another-boot' }, { ...here, bootId: 'this-boot' })).toBe(true);
  expect(holderIsGone({ pid: 2 ** 22 + 1, startTime: null, bootId: null, host: here.host }, here)).toBe(true);
});

it('[LK3] a lock from another host is never taken over, and the refusal says how to clear it', async () => {
  const dataDir = await tempDir();
  const lockPath = path.join(dataDir, LOCK_FILE);
  const remote: LockHolder = { pid: 1, startTime: '1', bootId: 'x', host: 'another-host.example' };
  await fs.writeFile(lockPath, JSON.stringify(remote));
  const refused = await refusal(dataDir);
  expect(refused).toBeInstanceOf(DataDirLockedError);
  expect(String(refused)).toMatch(/process 1 on another-host\.example/);
  expect(String(refused)).toContain(`delete ${lockPath}`);
  await fs.writeFile(lockPath, 'not a lock record');
  expect(String(await refusal(dataDir))).toMatch(/cannot be read/);
});

it('[LK3] a proper-lockfile lock directory of an older version is honoured while fresh and taken over when stale', async () => {
  const dataDir = await tempDir();
  const lockPath = path.join(dataDir, LOCK_FILE);
  await fs.mkdir(lockPath);
  expect(await refusal(dataDir)).toBeInstanceOf(DataDirLockedError);
  const old = new Date(Date.now() - 60_000);
  await fs.utimes(lockPath, old, old);
  const lock = await lockDataDir(dataDir);
  expect((await fs.stat(lockPath)).isFile()).toBe(true);
  await lock.release();
});
