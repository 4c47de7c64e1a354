/**
 * "Download my data" without an account (SPEC DR12): everything this device holds, as one JSON object built in
 * the browser: every table of the device database (the sign-in session's tokens left out: a secret, not data),
 * the evidence files with their bytes (base64), and the settings kept in localStorage.
 */
import { Dexie } from 'dexie';
import { MEDIA_DB_NAME } from '../media/media-db-name.ts';
import { openMediaDb } from '../media/media-db.ts';
import type { LocalDb } from '../sync/local-db.ts';

export type DeviceSnapshot = {
  format: 'vitalwatch-device-export@1';
  exportedAt: string;
  tables: Record<string, unknown[]>;
  evidenceFiles: Array<Record<string, unknown> & { base64: string | null }>;
  settings: Record<string, unknown>;
};

function base64(bytes: ArrayBuffer): string {
  const view = new Uint8Array(bytes);
  let text = '';
  for (let i = 0; i < view.length; i += 0x8000) text += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(text);
}

export async function deviceSnapshot(db: LocalDb, at: number): Promise<DeviceSnapshot> {
  const tables: Record<string, unknown[]> = {};
  for (const table of db.tables) {
    const rows: unknown[] = await table.toArray();
    tables[table.name] =
      table.name === 'meta' ? rows.filter((row) => (row as { key?: unknown }).key !== 'session') : rows;
  }
  const evidenceFiles: DeviceSnapshot['evidenceFiles'] = [];
  // Never create the evidence database just to read it (its presence starts the upload queue).
  if (await Dexie.exists(MEDIA_DB_NAME)) {
    const media = openMediaDb();
    try {
      for (const file of await media.files.toArray()) {
        const content = await media.contents.get(file.id);
        const bytes = content?.buffer ?? (content?.blob ? await content.blob.arrayBuffer() : null);
        evidenceFiles.push({ ...file, base64: bytes === null ? null : base64(bytes) });
      }
    } finally {
      media.close();
    }
  }
  const settings: Record<string, unknown> = {};
  for (const key of Object.keys(localStorage).filter((k) => k.startsWith('vitalwatch.'))) {
    const value = localStorage.getItem(key);
    try {
      settings[key] = value === null ? null : (JSON.parse(value) as unknown);
    } catch {
      settings[key] = value;
    }
  }
  return {
    format: 'vitalwatch-device-export@1',
    exportedAt: new Date(at).toISOString(),
    tables,
    evidenceFiles,
    settings,
  };
}
