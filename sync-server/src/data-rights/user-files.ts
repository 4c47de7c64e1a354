/**
 * A user's stored files in both stores (ADR 0008), for the export and the deletion (SPEC DR3, DR6):
 *
 * - embedded: every published object under `objects/{bucket}/user-{id}/` of each user bucket (whether or not a
 *   `media_files` row names it), and every tus upload under `uploads/` whose metadata names the user's folder
 *   (finished uploads are a second link to a published file; unfinished ones are partial files);
 * - Supabase Storage: every object the `media_files` rows of the user name (the server reaches Supabase only with
 *   the service key, and an object it never verified has no row: see docs/security.md).
 *
 * Deleting is idempotent: a file already gone counts as deleted, so a deletion that crashed half-way runs again.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { eq, isNotNull, and } from 'drizzle-orm';
import { BUCKETS, SYSTEM_BUCKETS } from '@vitalwatch/schema/db/media';
import { mediaFiles } from '@vitalwatch/schema/db/tables';
import type { Db } from '../db/database.ts';
import type { SupabaseStorage } from '../storage/supabase-storage.ts';
import { isPathProblem, parseObjectRef } from '../storage/object-paths.ts';

export type FileStores = {
  /** The embedded store's root (`DATA_DIR/storage`); null = no embedded store. */
  dir: string | null;
  /** Supabase Storage with the service key; null = none. */
  supabase: SupabaseStorage | null;
};

export type StoredFile = {
  store: 'embedded' | 'supabase';
  bucket: string;
  path: string;
  open(): Promise<Readable | null>;
};

const USER_BUCKETS = BUCKETS.filter((b) => !(SYSTEM_BUCKETS as readonly string[]).includes(b));

async function walk(root: string, relative = ''): Promise<string[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(path.join(root, relative), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: string[] = [];
  for (const entry of entries) {
    const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await walk(root, name)));
    // Staging links of a publish in progress start with "." (upload-routes.ts): not a file of record.
    else if (entry.isFile() && !entry.name.startsWith('.')) found.push(name);
  }
  return found;
}

function userFolder(dir: string, bucket: string, userId: string): string {
  return path.join(dir, 'objects', bucket, `user-${userId}`);
}

/** The tus uploads (ids) whose metadata puts them in the user's folder. */
async function userUploads(dir: string, userId: string): Promise<string[]> {
  const uploads = path.join(dir, 'uploads');
  let names: string[];
  try {
    names = await fsp.readdir(uploads);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const ids: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      const info = JSON.parse(await fsp.readFile(path.join(uploads, name), 'utf8')) as {
        metadata?: { bucketName?: string; objectName?: string };
      };
      const object = parseObjectRef(info.metadata?.bucketName ?? '', info.metadata?.objectName ?? '');
      if (!isPathProblem(object) && object.ownerId === userId) ids.push(name.slice(0, -'.json'.length));
    } catch {
      // Removed meanwhile, or half written: not this user's concern.
    }
  }
  return ids;
}

async function supabaseObjects(db: Db, userId: string) {
  return db
    .select({ bucket: mediaFiles.bucket, path: mediaFiles.objectPath })
    .from(mediaFiles)
    .where(and(eq(mediaFiles.userId, userId), isNotNull(mediaFiles.userId)));
}

/** Every file the stores hold for the user (the published objects: uploads in progress are not files yet). */
export async function listUserFiles(db: Db, stores: FileStores, userId: string): Promise<StoredFile[]> {
  const files: StoredFile[] = [];
  const { dir, supabase } = stores;
  if (dir !== null) {
    for (const bucket of USER_BUCKETS) {
      const folder = userFolder(dir, bucket, userId);
      for (const relative of await walk(folder)) {
        files.push({
          store: 'embedded',
          bucket,
          path: `user-${userId}/${relative}`,
          open: async () => fs.createReadStream(path.join(folder, ...relative.split('/'))),
        });
      }
    }
  }
  if (supabase !== null) {
    for (const object of await supabaseObjects(db, userId)) {
      files.push({
        store: 'supabase',
        ...object,
        open: async () => {
          const found = await supabase.download(object);
          return found === null ? null : Readable.fromWeb(found.body as WebReadableStream);
        },
      });
    }
  }
  return files;
}

/** Deletes every file of the user in both stores; returns how many were there. Safe to run again. */
export async function deleteUserFiles(db: Db, stores: FileStores, userId: string): Promise<number> {
  let deleted = 0;
  const { dir, supabase } = stores;
  if (supabase !== null) {
    for (const object of await supabaseObjects(db, userId)) {
      await supabase.remove(object);
      deleted += 1;
    }
  }
  if (dir !== null) {
    for (const bucket of USER_BUCKETS) {
      const folder = userFolder(dir, bucket, userId);
      deleted += (await walk(folder)).length;
      await fsp.rm(folder, { recursive: true, force: true });
    }
    for (const id of await userUploads(dir, userId)) {
      const file = path.join(dir, 'uploads', id);
      await fsp.rm(file, { force: true });
      await fsp.rm(`${file}.json`, { force: true });
    }
  }
  return deleted;
}
