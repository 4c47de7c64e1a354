/**
 * The real clients against the real server: supabase-js for sign-up and signed URLs, tus-js-client for uploads,
 * the embedded server on a loopback port with its store in a fresh temporary directory and a test-owned clock.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import * as tus from 'tus-js-client';
import WebSocket from 'ws';
import { emergencyIncidents } from '@vitalwatch/schema/db/tables';
import { newId, type IncidentId, type UserId } from '@vitalwatch/schema/ids';
import type { Database, Db } from '../src/db/database.ts';
import { withUser } from '../src/db/with-user.ts';
import { startEmbeddedApp, type RunningApp } from './test-app.ts';
import type { StorageConfig } from '../src/storage/storage-routes.ts';
import { UPLOAD_PATH } from '../src/storage/upload-routes.ts';

export type StorageServer = RunningApp & {
  clock: { ms: number };
  dir: string;
  urlSigningKey: Uint8Array;
  anonKey: string;
  close(): Promise<void>;
};

export async function startStorageServer(
  database: Database,
  options: Pick<StorageConfig, 'userContentUrl' | 'uploadLimits'> = {},
): Promise<StorageServer> {
  const clock = { ms: Date.now() };
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vw-storage-'));
  const urlSigningKey = new Uint8Array(randomBytes(32));
  const server = await startEmbeddedApp(database, {
    now: () => new Date(clock.ms),
    storage: { dir, urlSigningKey, ...options },
  });
  const config = (await (await fetch(`${server.url}/config.json`)).json()) as { supabaseAnonKey: string };
  return {
    ...server,
    clock,
    dir,
    urlSigningKey,
    anonKey: config.supabaseAnonKey,
    async close() {
      await server.app.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export type Account = { userId: UserId; token: string; supabase: SupabaseClient };

/** An SOS of `account`'s, as the server has it once the device pushed it. */
export async function createIncident(db: Db, account: Account): Promise<IncidentId> {
  const id = newId<IncidentId>();
  await withUser(db, { sub: account.userId, role: 'authenticated' }, (tx) =>
    tx.insert(emergencyIncidents).values({
      id,
      userId: account.userId,
      code: 'A7F3',
      trigger: 'panic_button',
      triggeredAt: new Date(),
    }),
  );
  return id;
}

let accounts = 0;

export async function signUp(server: StorageServer): Promise<Account> {
  accounts += 1;
  const supabase = createClient(server.url, server.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    // Node 20 has no global WebSocket; realtime-js wants one even when unused.
    realtime: { transport: WebSocket as never },
  });
  const credentials = {
    email: `storage-${accounts}-${randomBytes(4).toString('hex')}@example.org`,
    password: 'a long enough passphrase',
  };
  const signedUp = await supabase.auth.signUp(credentials);
  if (signedUp.error !== null) throw new Error(`sign-up failed: ${signedUp.error.message}`);
  // Sign-up answers the user without a session (SE45); the session comes from signing in.
  const { data, error } = await supabase.auth.signInWithPassword(credentials);
  if (error !== null || data.session === null || data.user === null) {
    throw new Error(`sign-up failed: ${error?.message ?? 'no session'}`);
  }
  return { userId: data.user.id as UserId, token: data.session.access_token, supabase };
}

/** A "recording": a WebM header (EBML magic) and random bytes. */
export function fakeWebm(size: number): Buffer {
  const bytes = randomBytes(size);
  Buffer.from([0x1a, 0x45, 0xdf, 0xa3]).copy(bytes, 0);
  return bytes;
}

export function fakeJpeg(size: number): Buffer {
  const bytes = randomBytes(size);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(bytes, 0);
  return bytes;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** tus-js-client's URL storage kept in memory: what the web client keeps in Dexie. */
export class MemoryUrlStorage implements tus.UrlStorage {
  readonly entries = new Map<string, tus.PreviousUpload & { fingerprint: string }>();
  private next = 0;

  async findAllUploads() {
    return [...this.entries.values()];
  }

  async findUploadsByFingerprint(fingerprint: string) {
    return [...this.entries.values()].filter((entry) => entry.fingerprint === fingerprint);
  }

  async removeUpload(key: string) {
    this.entries.delete(key);
  }

  async addUpload(fingerprint: string, upload: tus.PreviousUpload) {
    const key = `upload-${++this.next}`;
    this.entries.set(key, { ...upload, urlStorageKey: key, fingerprint });
    return key;
  }
}

export const SIX_MIB = 6 * 1024 * 1024;

export type UploadRequest = {
  baseUrl: string;
  token: string;
  file: Buffer;
  bucket: string;
  objectName: string;
  contentType: string;
  /** Defaults to the file's real hash; null sends none (as Supabase's documented upload does). */
  sha256?: string | null;
  /** The web client's: the file's id, never tus-js-client's default (equal sizes collide). */
  fingerprint?: string;
  upsert?: boolean;
  chunkSize?: number;
  retryDelays?: number[] | null;
  urlStorage?: tus.UrlStorage;
  metadata?: Record<string, string>;
  /** The upload's URL, as soon as the server has created it. */
  onUrl?: (url: string) => void;
  onChunkComplete?: (upload: tus.Upload, chunkSize: number, accepted: number) => void;
  onProgress?: (upload: tus.Upload, sent: number) => void;
};

export function uploadOptions(request: UploadRequest): tus.UploadOptions {
  return {
    endpoint: `${request.baseUrl}${UPLOAD_PATH}`,
    headers: {
      authorization: `Bearer ${request.token}`,
      ...(request.upsert === true && { 'x-upsert': 'true' }),
    },
    metadata: {
      bucketName: request.bucket,
      objectName: request.objectName,
      contentType: request.contentType,
      cacheControl: '3600',
      ...(request.sha256 !== null && { sha256: request.sha256 ?? sha256Hex(request.file) }),
      ...request.metadata,
    },
    chunkSize: request.chunkSize ?? SIX_MIB,
    retryDelays: request.retryDelays === undefined ? null : request.retryDelays,
    fingerprint: async () => request.fingerprint ?? `media-${request.objectName}`,
    ...(request.urlStorage && { urlStorage: request.urlStorage }),
  };
}

/** Runs an upload to the end (resuming a stored one with the same fingerprint) and returns its URL. */
export async function runUpload(request: UploadRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload: tus.Upload = new tus.Upload(request.file, {
      ...uploadOptions(request),
      onSuccess: () => resolve(upload.url ?? ''),
      onError: reject,
      onChunkComplete: (chunkSize, accepted) => request.onChunkComplete?.(upload, chunkSize, accepted),
      onProgress: (sent) => request.onProgress?.(upload, sent),
      onUploadUrlAvailable: () => request.onUrl?.(upload.url ?? ''),
    });
    upload
      .findPreviousUploads()
      .then((previous) => {
        const [last] = previous;
        if (last !== undefined) upload.resumeFromPreviousUpload(last);
        upload.start();
      })
      .catch(reject);
  });
}

/** The status and body with which the server refused an upload (tus-js-client's error); fails if it succeeded. */
export async function refused(
  upload: Promise<string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    await upload;
  } catch (error) {
    if (!(error instanceof tus.DetailedError) || error.originalResponse === null) throw error;
    return {
      status: error.originalResponse.getStatus(),
      body: JSON.parse(error.originalResponse.getBody()) as Record<string, unknown>,
    };
  }
  throw new Error('the upload was accepted');
}
