/**
 * The peer of sync-compare-bench.ts: PouchDB 9 replicating to express-pouchdb, both in this process and both on
 * the memory adapter (leveldown's native build is disabled in pnpm-workspace.yaml).
 *
 * Server: node:http with the `compression` middleware (gzip responses of 1 KiB and more, as our server does)
 * in front of express-pouchdb in its `minimumForPouchDB` mode, whose own bundled compression is excluded so
 * that the version we name is the one that runs. No authentication (CouchDB "admin party"): PouchDB's requests
 * carry no token, ours carry a ~0.5 KB bearer token each.
 *
 * Client: PouchDB's http adapter, which uses node-fetch 2. Two settings put it in its best light: a keep-alive
 * agent (without one node-fetch sends `Connection: close` and opens a connection per request; a browser would
 * keep connections alive) and `skip_setup` (no `GET /db/` probe before the first request: the database exists).
 * node-fetch asks for gzip responses (`Accept-Encoding: gzip,deflate`) but sends request bodies uncompressed:
 * PouchDB has no option to gzip them.
 *
 * The memory adapter shares data between databases of the same name in one process, so each server's databases
 * get a prefix of their own (`srv<n>-`) and every device database a unique name.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);

export type PouchDoc = { _id: string; _rev?: string } & Record<string, unknown>;

export type ReplicationResult = {
  ok: boolean;
  docs_read: number;
  docs_written: number;
  doc_write_failures: number;
  errors: unknown[];
};

export interface PouchDatabase {
  bulkDocs(docs: PouchDoc[]): Promise<Array<{ ok?: boolean; error?: string; id?: string }>>;
  put(doc: PouchDoc): Promise<{ ok: boolean; id: string; rev: string }>;
  info(): Promise<{ doc_count: number; update_seq: number | string }>;
  allDocs(options: {
    keys: string[];
  }): Promise<{ rows: Array<{ id?: string; key: string; error?: string }> }>;
  destroy(): Promise<unknown>;
}

type FetchOptions = Record<string, unknown>;

/** A running replication: resolves when it completes (one-shot) or after `cancel()` (live). */
export type Replication = Promise<ReplicationResult> & { cancel(): void };

interface PouchStatic {
  new (name: string, options?: Record<string, unknown>): PouchDatabase;
  plugin(plugin: unknown): PouchStatic;
  defaults(options: Record<string, unknown>): PouchStatic;
  replicate(source: PouchDatabase, target: PouchDatabase, options?: Record<string, unknown>): Replication;
  sync(
    a: PouchDatabase,
    b: PouchDatabase,
    options?: Record<string, unknown>,
  ): Promise<{ push: ReplicationResult; pull: ReplicationResult }>;
  fetch(url: string, options: FetchOptions): Promise<unknown>;
  readonly version: string;
}

type Middleware = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  next: (error?: unknown) => void,
) => void;

const PouchDB = (require('pouchdb') as PouchStatic).plugin(require('pouchdb-adapter-memory'));
const compression = require('compression') as () => Middleware;
const expressPouchDb = require('express-pouchdb') as (pouch: PouchStatic, options: unknown) => Middleware;

/** Versions for the printout, read from each package's manifest. */
export function pouchVersions(): Record<string, string> {
  const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return Object.fromEntries(
    ['pouchdb', 'pouchdb-adapter-memory', 'express-pouchdb', 'compression', 'node-fetch'].map((name) => {
      try {
        return [name, name === 'node-fetch' ? nodeFetchVersion() : version(name)];
      } catch {
        return [name, 'unknown'];
      }
    }),
  );
}

/** node-fetch is PouchDB's dependency, not ours: resolve it from PouchDB's folder. */
function nodeFetchVersion(): string {
  const fromPouch = createRequire(require.resolve('pouchdb'));
  return (fromPouch('node-fetch/package.json') as { version: string }).version;
}

export type PouchServer = {
  readonly port: number;
  /** A server-side database (no HTTP), e.g. to create it or to watch its changes. */
  database(name: string): PouchDatabase;
  close(): Promise<void>;
};

let serverCount = 0;

export async function startPouchServer(): Promise<PouchServer> {
  serverCount += 1;
  // Memory databases of the same name are one database within the process: each server gets its own names.
  const ServerPouch = PouchDB.defaults({ adapter: 'memory', prefix: `srv${serverCount}-` });
  const pouchApp = expressPouchDb(ServerPouch, {
    mode: 'minimumForPouchDB',
    overrideMode: { exclude: ['compression'] },
  });
  const gzip = compression();
  // Plain node:http in front, not an express 5 app: express 5 makes `req.query` a getter, and express-pouchdb
  // (an express 4 app) assigns to it.
  const server = http.createServer((req, res) => {
    gzip(req, res, (error) => {
      if (error === undefined) {
        pouchApp(req, res, () => res.writeHead(404).end());
      } else {
        res.writeHead(500).end(error instanceof Error ? error.message : 'compression failed');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const databases = new Map<string, PouchDatabase>();
  return {
    port: (server.address() as AddressInfo).port,
    database(name) {
      let db = databases.get(name);
      if (db === undefined) {
        db = new ServerPouch(name);
        databases.set(name, db);
      }
      return db;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const db of databases.values()) await db.destroy();
    },
  };
}

let deviceDbCount = 0;

/** A device's local database (memory adapter, a unique name). */
export function openDeviceDb(label: string): PouchDatabase {
  deviceDbCount += 1;
  return new PouchDB(`dev-${label}-${deviceDbCount}`, { adapter: 'memory' });
}

/** A device's handle on a remote database: keep-alive connections of its own, no setup probe. */
export function openRemoteDb(url: string): { db: PouchDatabase; close(): void } {
  const agent = new http.Agent({ keepAlive: true });
  const db = new PouchDB(url, {
    skip_setup: true,
    fetch: (target: string, options: FetchOptions) => PouchDB.fetch(target, { ...options, agent }),
  });
  return { db, close: () => agent.destroy() };
}

export function replicate(
  source: PouchDatabase,
  target: PouchDatabase,
  options: Record<string, unknown> = {},
): Replication {
  return PouchDB.replicate(source, target, options);
}

export function syncBothWays(
  local: PouchDatabase,
  remote: PouchDatabase,
): Promise<{ push: ReplicationResult; pull: ReplicationResult }> {
  return PouchDB.sync(local, remote);
}
