/**
 * A process that holds a data directory's lock, for the lock tests: `node --import tsx lock-holder.ts <dir>`
 * prints `locked`, then on each stdin line `block <ms>` blocks its event loop synchronously for that long (as a
 * PGlite statement does) and prints `unblocked`. It keeps the lock until it is killed.
 */
import readline from 'node:readline';
import { lockDataDir } from '../src/db/data-dir-lock.ts';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: lock-holder.ts <data dir>');
await lockDataDir(dataDir);
console.log('locked');
const blocker = new Int32Array(new SharedArrayBuffer(4));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const match = /^block (\d+)$/.exec(line.trim());
  if (match === null) return;
  Atomics.wait(blocker, 0, 0, Number(match[1]));
  console.log('unblocked');
});
