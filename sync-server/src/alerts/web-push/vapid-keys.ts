/**
 * The server's VAPID identity (RFC 8292) for Web Push: a P-256 key pair whose public half every browser
 * subscription is bound to (`applicationServerKey`), and a contact URI (`sub` claim) for push services.
 *
 * Where it comes from, first match wins:
 * - VAPID_PUBLIC_KEY + VAPID_PRIVATE_KEY (base64url, no padding; 65-byte uncompressed point and 32-byte scalar,
 *   as `web-push generate-vapid-keys` prints them). Both or neither: a half-set pair stops the start. The pair is
 *   checked to belong together, since a mismatch would only show later as every push refused with 401/403.
 * - DATA_DIR/vapid-keys.json, generated there on the first start (mode 0600) and reused afterwards.
 * - no data dir (tests): a fresh pair for this process.
 * Several instances must share the pair (set the variables): a subscription made against one public key cannot
 * be used with another. Changing the pair silently orphans every subscription; browsers must subscribe again.
 *
 * The subject: VAPID_SUBJECT (a `mailto:` or `https:` URI), else `mailto:alerts@<host of PUBLIC_URL>` when
 * PUBLIC_URL names a real host, else `mailto:alerts@localhost`. Apple's push service refuses a JWT whose subject
 * is a localhost address (403 BadJwtToken; web-push-libs/web-push#947) while FCM and Mozilla accept it, so that
 * last fallback comes with a `warning` for main.ts to log. We prefer `mailto:` to the `https:` PUBLIC_URL because
 * Apple has been reported to refuse some `https:` subjects too (web-push-libs/web-push-php#398).
 */
import { createECDH, ECDH } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import webPush from 'web-push';
import { z } from 'zod';
import { ConfigError } from '../../config.ts';

export type VapidKeys = {
  /** base64url, 65 bytes: the uncompressed P-256 point browsers pass to pushManager.subscribe(). */
  publicKey: string;
  /** base64url, 32 bytes. */
  privateKey: string;
  /** `mailto:` or `https:` contact URI for push service operators. */
  subject: string;
};

export type LoadedVapidKeys = VapidKeys & {
  source: 'env' | 'file' | 'generated' | 'ephemeral';
  /** Something the operator should fix (logged at start), or null. */
  warning: string | null;
};

export const VAPID_KEYS_FILE = 'vapid-keys.json';
export const DEFAULT_VAPID_SUBJECT = 'mailto:alerts@localhost';

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The bytes of unpadded base64url `text` if it is exactly `length` bytes, else null. */
export function decodeBase64Url(text: string, length: number): Buffer | null {
  if (!BASE64URL.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  // Re-encoding catches trailing bits Buffer would silently drop.
  return bytes.length === length && bytes.toString('base64url') === text ? bytes : null;
}

/** A base64url uncompressed P-256 point (65 bytes, 0x04 prefix) that lies on the curve. */
export function isP256PublicKey(text: string): boolean {
  const bytes = decodeBase64Url(text, 65);
  if (bytes?.[0] !== 0x04) return false;
  try {
    ECDH.convertKey(bytes, 'prime256v1');
    return true;
  } catch {
    return false;
  }
}

/** The public key of a base64url P-256 private scalar, or null if it is not a valid one. */
function publicKeyOf(privateKey: string): string | null {
  const scalar = decodeBase64Url(privateKey, 32);
  if (scalar === null) return null;
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(scalar);
    return ecdh.getPublicKey().toString('base64url');
  } catch {
    return null;
  }
}

function checkPair(publicKey: string, privateKey: string, source: string): void {
  if (!isP256PublicKey(publicKey))
    throw new ConfigError(
      `${source}: the VAPID public key must be a 65-byte uncompressed P-256 point in base64url without padding (87 characters)`,
    );
  const derived = publicKeyOf(privateKey);
  if (derived === null)
    throw new ConfigError(
      `${source}: the VAPID private key must be a 32-byte P-256 scalar in base64url without padding (43 characters)`,
    );
  if (derived !== publicKey)
    throw new ConfigError(`${source}: the VAPID public key does not belong to the private key`);
}

const SUBJECT_SCHEMES = ['mailto:', 'https:'];

function checkSubject(subject: string): string {
  let url: URL;
  try {
    url = new URL(subject);
  } catch {
    throw new ConfigError(
      `VAPID_SUBJECT must be a mailto: or https: URI such as "mailto:ops@example.org", not "${subject}"`,
    );
  }
  if (!SUBJECT_SCHEMES.includes(url.protocol))
    throw new ConfigError(`VAPID_SUBJECT must be a mailto: or https: URI, not ${url.protocol}`);
  // web-push puts the subject in the JWT as given; Apple refuses "mailto: x@y" with the space.
  if (/\s/.test(subject)) throw new ConfigError('VAPID_SUBJECT must not contain spaces');
  return subject;
}

function isLocalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.local') ||
    !host.includes('.') ||
    /^[\d.]+$/.test(host) ||
    host.includes(':')
  );
}

/** The subject when VAPID_SUBJECT is not set; see the module comment. */
export function defaultVapidSubject(publicUrl: string | null): string {
  if (publicUrl === null) return DEFAULT_VAPID_SUBJECT;
  let hostname: string;
  try {
    hostname = new URL(publicUrl).hostname;
  } catch {
    return DEFAULT_VAPID_SUBJECT;
  }
  return isLocalHost(hostname) ? DEFAULT_VAPID_SUBJECT : `mailto:alerts@${hostname.toLowerCase()}`;
}

function subjectWarning(subject: string): string | null {
  const url = new URL(subject);
  const host = url.protocol === 'mailto:' ? (url.pathname.split('@')[1] ?? '') : url.hostname;
  return isLocalHost(host)
    ? `VAPID subject ${subject} is a local address: Apple's push service refuses it (403 BadJwtToken), so ` +
        'Safari and iOS devices get no alerts. Set VAPID_SUBJECT to a mailto: address or https: URL you answer.'
    : null;
}

const KeyFile = z.strictObject({ publicKey: z.string(), privateKey: z.string() });

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

async function readKeyFile(file: string): Promise<{ publicKey: string; privateKey: string } | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${file} is not JSON: delete it to generate a new VAPID key pair`);
  }
  const parsed = KeyFile.safeParse(json);
  if (!parsed.success)
    throw new ConfigError(`${file} does not hold {publicKey, privateKey}: delete it to generate a new pair`);
  checkPair(parsed.data.publicKey, parsed.data.privateKey, file);
  return parsed.data;
}

/** Unset and empty both mean "not configured". */
function given(value: string | null | undefined): string | null {
  const trimmed = value?.trim() ?? '';
  return trimmed === '' ? null : trimmed;
}

export async function loadVapidKeys(options: {
  env: {
    publicKey?: string | null | undefined;
    privateKey?: string | null | undefined;
    subject?: string | null | undefined;
  };
  dataDir: string | null;
  /** Our public origin (PUBLIC_URL), for the default subject. */
  publicUrl?: string | null | undefined;
}): Promise<LoadedVapidKeys> {
  const envPublic = given(options.env.publicKey);
  const envPrivate = given(options.env.privateKey);
  const envSubject = given(options.env.subject);
  const subject =
    envSubject === null ? defaultVapidSubject(options.publicUrl ?? null) : checkSubject(envSubject);
  const warning = subjectWarning(subject);

  if (envPublic !== null || envPrivate !== null) {
    if (envPublic === null || envPrivate === null)
      throw new ConfigError(
        `${envPublic === null ? 'VAPID_PRIVATE_KEY' : 'VAPID_PUBLIC_KEY'} is set but ` +
          `${envPublic === null ? 'VAPID_PUBLIC_KEY' : 'VAPID_PRIVATE_KEY'} is not: set both (a pair from ` +
          '`npx web-push generate-vapid-keys`) or neither (the server keeps its own pair in DATA_DIR)',
      );
    checkPair(envPublic, envPrivate, 'VAPID_PUBLIC_KEY/VAPID_PRIVATE_KEY');
    return { publicKey: envPublic, privateKey: envPrivate, subject, source: 'env', warning };
  }

  if (options.dataDir === null)
    return { ...webPush.generateVAPIDKeys(), subject, source: 'ephemeral', warning };

  const file = path.join(options.dataDir, VAPID_KEYS_FILE);
  const existing = await readKeyFile(file);
  if (existing !== null) return { ...existing, subject, source: 'file', warning };

  const generated = webPush.generateVAPIDKeys();
  const pair = { publicKey: generated.publicKey, privateKey: generated.privateKey };
  await fs.mkdir(options.dataDir, { recursive: true });
  try {
    // 'wx': if another process wrote a pair first, use that one rather than replacing it (its public key may
    // already be in browsers' subscriptions).
    await fs.writeFile(file, JSON.stringify(pair), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
    const winner = await readKeyFile(file);
    if (winner === null) throw error;
    return { ...winner, subject, source: 'file', warning };
  }
  return { ...pair, subject, source: 'generated', warning };
}
