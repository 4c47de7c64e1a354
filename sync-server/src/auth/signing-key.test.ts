import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { expect, it } from 'vitest';
import { loadSigningKey } from './signing-key.ts';

it('generates the signing key into DATA_DIR once (owner-only) and loads the same key on the next start', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-key-'));
  const first = await loadSigningKey({ fromEnv: null, dataDir });
  const stat = await fs.stat(path.join(dataDir, 'auth-signing-key.json'));
  expect(stat.mode & 0o777).toBe(0o600);
  const second = await loadSigningKey({ fromEnv: null, dataDir });
  expect(second.kid).toBe(first.kid);
  expect(second.publicJwk).toEqual(first.publicJwk);
  expect(first.publicJwk).not.toHaveProperty('d');
});

it('takes AUTH_SIGNING_KEY (a private P-256 JWK) over DATA_DIR, so several instances share one key', async () => {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const a = await loadSigningKey({ fromEnv: JSON.stringify(jwk), dataDir: null });
  const b = await loadSigningKey({ fromEnv: JSON.stringify(jwk), dataDir: null });
  expect(a.kid).toBe(b.kid);
  expect(a.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, alg: 'ES256' });
});

it('names AUTH_SIGNING_KEY when it is not a usable key', async () => {
  await expect(loadSigningKey({ fromEnv: 'not json', dataDir: null })).rejects.toThrow(
    /AUTH_SIGNING_KEY is not JSON/,
  );
  await expect(loadSigningKey({ fromEnv: '{"kty":"RSA"}', dataDir: null })).rejects.toThrow(
    /AUTH_SIGNING_KEY is not an ES256/,
  );
});
