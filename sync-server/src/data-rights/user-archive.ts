/**
 * "Download my data" (GDPR Art. 20; SPEC DR2–DR4): one ZIP, written as it is sent, with
 *
 * - `tables/{table}.json`: every row of the user in every user-data table (user-data-tables.ts), as a JSON array of
 *   objects keyed by the database's column names; timestamps in ISO 8601, binary values as `\x…` hex (as Postgres
 *   prints them); the secrets in REDACTED_COLUMNS replaced by a note saying what was left out and why;
 * - `files/{store}/{bucket}/{object path}`: every stored file, byte for byte;
 * - `manifest.json` (last): when, for whom, the row count of each table, each file's size, what was left out.
 *
 * Rows are read a page at a time in short queries, never in one long transaction: on PGlite a transaction blocks
 * every other request, an SOS included, for as long as the download runs. A row written during the download may
 * or may not be in it. The stream waits for the client (backpressure), so memory stays at about a page.
 */
import { PassThrough, type Readable } from 'node:stream';
import { once } from 'node:events';
import { and, getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import type { Db } from '../db/database.ts';
import { listUserFiles, type FileStores } from './user-files.ts';
import { ownedBy, REDACTED_COLUMNS, userDataTables, type UserDataTable } from './user-data-tables.ts';

const PAGE_ROWS = 2_000;

export type ArchiveManifest = {
  format: 'vitalwatch-data-export@1';
  exportedAt: string;
  userId: string;
  tables: Record<string, number>;
  files: Array<{ store: string; bucket: string; path: string; bytes: number; missing?: true }>;
  redacted: Record<string, Record<string, string>>;
};

function jsonValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  return value;
}

function afterKey(primaryKey: PgColumn[], last: Record<string, unknown>, props: Map<PgColumn, string>): SQL {
  const values = primaryKey.map((column) => sql.param(last[props.get(column) ?? ''], column));
  return sql`(${sql.join(primaryKey, sql`, `)}) > (${sql.join(values, sql`, `)})`;
}

/** The user's rows of one table, a page at a time, keyed by column name. */
async function* rowsOf(
  db: Db,
  table: UserDataTable,
  userId: string,
): AsyncGenerator<Record<string, unknown>> {
  const columns = getTableColumns(table.table);
  const props = new Map<PgColumn, string>(Object.entries(columns).map(([prop, column]) => [column, prop]));
  const redacted = REDACTED_COLUMNS[table.name] ?? {};
  let last: Record<string, unknown> | null = null;
  for (;;) {
    const where: SQL | undefined =
      last === null
        ? ownedBy(table, userId)
        : and(ownedBy(table, userId), afterKey(table.primaryKey, last, props));
    const page = (await db
      .select()
      .from(table.table)
      .where(where)
      .orderBy(...table.primaryKey)
      .limit(PAGE_ROWS)) as Record<string, unknown>[];
    for (const row of page) {
      const out: Record<string, unknown> = {};
      for (const [prop, column] of Object.entries(columns)) {
        const note = redacted[column.name];
        out[column.name] =
          note !== undefined && row[prop] != null ? `[left out: ${note}]` : jsonValue(row[prop]);
      }
      yield out;
    }
    if (page.length < PAGE_ROWS) return;
    last = page.at(-1) ?? null;
  }
}

/** Writes the archive into a stream; the promise settles when it is complete (or failed: the stream is destroyed). */
export function streamUserArchive(
  db: Db,
  stores: FileStores,
  userId: string,
  now: Date,
): { stream: Readable; done: Promise<ArchiveManifest> } {
  const output = new PassThrough();
  const zip = new Zip((error, chunk, final) => {
    if (error !== null) {
      output.destroy(error);
      return;
    }
    output.write(chunk);
    if (final) output.end();
  });
  const drained = async () => {
    if (output.writableNeedDrain) await once(output, 'drain');
  };
  const text = new TextEncoder();

  async function write(): Promise<ArchiveManifest> {
    const manifest: ArchiveManifest = {
      format: 'vitalwatch-data-export@1',
      exportedAt: now.toISOString(),
      userId,
      tables: {},
      files: [],
      redacted: REDACTED_COLUMNS,
    };
    for (const table of userDataTables()) {
      const entry = new ZipDeflate(`tables/${table.name}.json`, { level: 6 });
      zip.add(entry);
      let count = 0;
      entry.push(text.encode('['));
      for await (const row of rowsOf(db, table, userId)) {
        entry.push(text.encode(`${count === 0 ? '\n' : ',\n'}${JSON.stringify(row)}`));
        count += 1;
        await drained();
      }
      entry.push(text.encode(count === 0 ? ']\n' : '\n]\n'), true);
      manifest.tables[table.name] = count;
    }
    for (const file of await listUserFiles(db, stores, userId)) {
      const source = await file.open();
      const record: ArchiveManifest['files'][number] = {
        store: file.store,
        bucket: file.bucket,
        path: file.path,
        bytes: 0,
      };
      if (source === null) {
        manifest.files.push({ ...record, missing: true });
        continue;
      }
      manifest.files.push(record);
      // Recordings and photos are compressed already: stored as they are.
      const entry = new ZipPassThrough(`files/${file.store}/${file.bucket}/${file.path}`);
      zip.add(entry);
      for await (const chunk of source as AsyncIterable<Buffer>) {
        record.bytes += chunk.length;
        entry.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        await drained();
      }
      entry.push(new Uint8Array(0), true);
    }
    const entry = new ZipDeflate('manifest.json', { level: 6 });
    zip.add(entry);
    entry.push(text.encode(`${JSON.stringify(manifest, null, 2)}\n`), true);
    zip.end();
    return manifest;
  }

  const done = write();
  done.catch((error: unknown) => output.destroy(error instanceof Error ? error : new Error(String(error))));
  return { stream: output, done };
}
