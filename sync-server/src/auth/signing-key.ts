/**
 * The embedded identity provider's ES256 signing key: from AUTH_SIGNING_KEY (a private JWK, for several server
 * instances) or from DATA_DIR/auth-signing-key.json, generated there on first start (mode 0600).
 * The refresh-token key (refresh-tokens.ts) is derived from its private part, so every instance that shares the
 * signing key recognises the same refresh tokens, and nothing in the database can mint one.
 */
import { hkdfSync } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import { z } from 'zod';

export type SigningKey = {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** HMAC key for refresh tokens: HKDF-SHA256 of the private scalar, 32 bytes. */
  refreshTokenKey: Buffer;
};

const PrivateEcJwk = z.looseObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string(),
  y: z.string(),
  d: z.string(),
});

async function fromJwk(jwk: z.infer<typeof PrivateEcJwk>): Promise<SigningKey> {
  const publicJwk: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateKey = await importJWK({ ...jwk, alg: 'ES256' }, 'ES256');
  if (privateKey instanceof Uint8Array) throw new Error('AUTH_SIGNING_KEY is not an EC private key');
  const refreshTokenKey = Buffer.from(
    hkdfSync('sha256', Buffer.from(jwk.d, 'base64url'), '', 'vitalwatch refresh tokens v1', 32),
  );
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' }, refreshTokenKey };
}

function parseJwk(text: string, source: string): z.infer<typeof PrivateEcJwk> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${source} is not JSON`);
  }
  const parsed = PrivateEcJwk.safeParse(json);
  if (!parsed.success) throw new Error(`${source} is not an ES256 (P-256) private JWK`);
  return parsed.data;
}

export async function loadSigningKey(options: {
  fromEnv: string | null;
  dataDir: string | null;
}): Promise<SigningKey> {
  if (options.fromEnv !== null) return fromJwk(parseJwk(options.fromEnv, 'AUTH_SIGNING_KEY'));
  if (options.dataDir === null) return generateSigningKey();
  const file = path.join(options.dataDir, 'auth-signing-key.json');
  try {
    return await fromJwk(parseJwk(await fs.readFile(file, 'utf8'), file));
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  }
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  await fs.mkdir(options.dataDir, { recursive: true });
  // 'wx': if another process wrote the key first we fail here rather than silently replacing it.
  await fs.writeFile(file, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
  return fromJwk(parseJwk(JSON.stringify(jwk), file));
}

export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return fromJwk(parseJwk(JSON.stringify(await exportJWK(privateKey)), 'generated key'));
}
