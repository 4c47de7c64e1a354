/**
 * The secret that signs download URLs (HMAC-SHA256). Kept like the embedded auth key, so one deployment needs no
 * new setting:
 * - derived (HKDF-SHA256) from AUTH_SIGNING_KEY when it is set, so several instances that share that key also
 *   accept each other's URLs;
 * - else read from DATA_DIR/storage-url-key (32 random bytes, base64url), generated there on first start (0600);
 * - else (no data dir: tests) random for this process.
 * Losing or changing it only invalidates outstanding signed URLs, which are short-lived anyway.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export type UrlSigningKey = Uint8Array;

const KEY_BYTES = 32;
export const URL_KEY_FILE = 'storage-url-key';

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

async function readKeyFile(file: string): Promise<UrlSigningKey | null> {
  try {
    const key = Buffer.from((await fs.readFile(file, 'utf8')).trim(), 'base64url');
    if (key.length !== KEY_BYTES) throw new Error(`${file} does not hold a ${KEY_BYTES}-byte key`);
    return new Uint8Array(key);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
}

export async function loadUrlSigningKey(options: {
  authSigningKey: string | null;
  dataDir: string | null;
}): Promise<UrlSigningKey> {
  if (options.authSigningKey !== null) {
    return new Uint8Array(
      hkdfSync('sha256', options.authSigningKey, 'vitalwatch', 'storage signed urls v1', KEY_BYTES),
    );
  }
  if (options.dataDir === null) return new Uint8Array(randomBytes(KEY_BYTES));
  const file = path.join(options.dataDir, URL_KEY_FILE);
  const existing = await readKeyFile(file);
  if (existing !== null) return existing;
  const key = randomBytes(KEY_BYTES);
  await fs.mkdir(options.dataDir, { recursive: true });
  try {
    // 'wx': if another process wrote a key first, use that one rather than replacing it.
    await fs.writeFile(file, key.toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
    const winner = await readKeyFile(file);
    if (winner === null) throw error;
    return winner;
  }
  return new Uint8Array(key);
}
