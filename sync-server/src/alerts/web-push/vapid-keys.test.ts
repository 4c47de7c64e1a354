import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import webPush from 'web-push';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../config.ts';
import {
  DEFAULT_VAPID_SUBJECT,
  defaultVapidSubject,
  isP256PublicKey,
  loadVapidKeys,
  VAPID_KEYS_FILE,
} from './vapid-keys.ts';

const noEnv = { publicKey: null, privateKey: null, subject: null };

describe('from VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY', () => {
  it('uses a valid pair as given, with VAPID_SUBJECT', async () => {
    const pair = webPush.generateVAPIDKeys();
    const keys = await loadVapidKeys({
      env: { ...pair, subject: 'mailto:ops@example.org' },
      dataDir: null,
    });
    expect(keys).toEqual({ ...pair, subject: 'mailto:ops@example.org', source: 'env', warning: null });
  });

  it('refuses a half-set pair, naming the missing variable', async () => {
    const pair = webPush.generateVAPIDKeys();
    await expect(
      loadVapidKeys({ env: { ...noEnv, publicKey: pair.publicKey }, dataDir: null }),
    ).rejects.toThrow(/^VAPID_PUBLIC_KEY is set but VAPID_PRIVATE_KEY is not/);
    const error = await loadVapidKeys({
      env: { ...noEnv, privateKey: pair.privateKey },
      dataDir: null,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^VAPID_PRIVATE_KEY is set but VAPID_PUBLIC_KEY is not/);
  });

  it('refuses keys of the wrong length, padding, a point off the curve, and a mismatched pair', async () => {
    const pair = webPush.generateVAPIDKeys();
    const other = webPush.generateVAPIDKeys();
    const offCurve = Buffer.from(pair.publicKey, 'base64url');
    offCurve[64] = (offCurve[64] ?? 0) ^ 1;
    const cases: [Partial<typeof pair>, RegExp][] = [
      [{ publicKey: pair.publicKey.slice(0, 80) }, /public key must be a 65-byte/],
      [{ publicKey: `${pair.publicKey}=` }, /public key must be a 65-byte/],
      [{ publicKey: offCurve.toString('base64url') }, /public key must be a 65-byte/],
      [{ privateKey: Buffer.alloc(31, 7).toString('base64url') }, /private key must be a 32-byte/],
      [{ privateKey: Buffer.alloc(32, 0).toString('base64url') }, /private key must be a 32-byte/],
      [{ publicKey: other.publicKey }, /does not belong to the private key/],
    ];
    for (const [change, message] of cases) {
      const error = await loadVapidKeys({ env: { ...pair, ...change }, dataDir: null }).catch(
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(change)).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('refuses a subject that is not a mailto: or https: URI', async () => {
    for (const subject of ['ops@example.org', 'http://example.org', 'mailto: ops@example.org']) {
      await expect(
        loadVapidKeys({ env: { ...noEnv, subject }, dataDir: null }),
        subject,
      ).rejects.toBeInstanceOf(ConfigError);
    }
    const https = await loadVapidKeys({
      env: { ...noEnv, subject: 'https://example.org/contact' },
      dataDir: null,
    });
    expect(https.subject).toBe('https://example.org/contact');
  });
});

describe('in DATA_DIR', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-vapid-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('generates a pair once (mode 0600) and reuses it on the next start', async () => {
    const first = await loadVapidKeys({ env: noEnv, dataDir: dir });
    expect(first.source).toBe('generated');
    expect(isP256PublicKey(first.publicKey)).toBe(true);
    const file = path.join(dir, VAPID_KEYS_FILE);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const second = await loadVapidKeys({ env: noEnv, dataDir: dir });
    expect(second).toMatchObject({
      publicKey: first.publicKey,
      privateKey: first.privateKey,
      source: 'file',
    });
  });

  it('the variables win over the file; a damaged file stops the start instead of being replaced', async () => {
    await loadVapidKeys({ env: noEnv, dataDir: dir });
    const pair = webPush.generateVAPIDKeys();
    expect(await loadVapidKeys({ env: { ...noEnv, ...pair }, dataDir: dir })).toMatchObject({
      ...pair,
      source: 'env',
    });
    await fs.writeFile(path.join(dir, VAPID_KEYS_FILE), '{"publicKey":"x"}');
    await expect(loadVapidKeys({ env: noEnv, dataDir: dir })).rejects.toThrow(/delete it to generate/);
  });

  it('two starts racing for an empty DATA_DIR end with the same pair', async () => {
    const [a, b] = await Promise.all([
      loadVapidKeys({ env: noEnv, dataDir: dir }),
      loadVapidKeys({ env: noEnv, dataDir: dir }),
    ]);
    expect(a.publicKey).toBe(b.publicKey);
  });
});

describe('the default subject', () => {
  it('is alerts@ the host of PUBLIC_URL, or alerts@localhost with a warning for Safari', async () => {
    expect(defaultVapidSubject('https://vitalwatch.example.org')).toBe(
      'mailto:alerts@vitalwatch.example.org',
    );
    for (const local of [
      null,
      'http://127.0.0.1:8787',
      'http://localhost:8787',
      'http://[::1]:8787',
      'http://box',
    ]) {
      expect(defaultVapidSubject(local), String(local)).toBe(DEFAULT_VAPID_SUBJECT);
    }
    const keys = await loadVapidKeys({ env: noEnv, dataDir: null, publicUrl: 'http://localhost:8787' });
    expect(keys.subject).toBe('mailto:alerts@localhost');
    expect(keys.warning).toMatch(/Apple's push service refuses it/);
    const hosted = await loadVapidKeys({ env: noEnv, dataDir: null, publicUrl: 'https://vw.example.org' });
    expect(hosted).toMatchObject({
      subject: 'mailto:alerts@vw.example.org',
      warning: null,
      source: 'ephemeral',
    });
  });
});
