import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { loadUrlSigningKey, URL_KEY_FILE } from './url-signing-key.ts';
import { signObjectToken, verifyObjectToken } from './signed-url-token.ts';

it('derives the same key from the same AUTH_SIGNING_KEY, so instances accept each other’s URLs', async () => {
  const a = await loadUrlSigningKey({ authSigningKey: '{"kty":"EC","d":"x"}', dataDir: null });
  const b = await loadUrlSigningKey({ authSigningKey: '{"kty":"EC","d":"x"}', dataDir: null });
  const c = await loadUrlSigningKey({ authSigningKey: '{"kty":"EC","d":"y"}', dataDir: null });
  expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  expect(a.length).toBe(32);
});

it('generates a key in DATA_DIR once (mode 0600) and reads it back on the next start', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-url-key-'));
  try {
    const first = await loadUrlSigningKey({ authSigningKey: null, dataDir: dir });
    const second = await loadUrlSigningKey({ authSigningKey: null, dataDir: dir });
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(true);
    expect((await fs.stat(path.join(dir, URL_KEY_FILE))).mode & 0o777).toBe(0o600);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

it('signs tokens that only the same key, the same object and an unexpired clock accept', async () => {
  const key = await loadUrlSigningKey({ authSigningKey: null, dataDir: null });
  const other = await loadUrlSigningKey({ authSigningKey: null, dataDir: null });
  const object = { bucket: 'emergency', path: 'user-x/a.webm' };
  const now = new Date('2026-01-05T10:00:00Z');
  const token = await signObjectToken(key, object, 60, now);
  await expect(verifyObjectToken(key, token, object, now)).resolves.toEqual(new Date('2026-01-05T10:01:00Z'));
  await expect(verifyObjectToken(other, token, object, now)).rejects.toMatchObject({
    errorCode: 'invalid_signature',
  });
  await expect(
    verifyObjectToken(key, token, { ...object, path: 'user-x/b.webm' }, now),
  ).rejects.toMatchObject({
    errorCode: 'invalid_signature',
  });
  await expect(verifyObjectToken(key, token, object, new Date('2026-01-05T10:01:01Z'))).rejects.toMatchObject(
    { errorCode: 'signed_url_expired' },
  );
});
