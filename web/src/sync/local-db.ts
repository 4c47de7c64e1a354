/**
 * The device's database (Dexie over IndexedDB): the synced tables as pull delivers them (ROW_SCHEMAS, key `id`),
 * the outbox, and the bookkeeping around them. It runs unchanged in a window, the service worker and Node tests
 * (fake-indexeddb).
 *
 * Tables beyond the synced ones:
 * - `outbox`: pending mutations, one per local write, written in the same transaction as the local change
 *   (mutators.ts). Removed only when the server acknowledged the seq (ok, dup or rejected).
 * - `bases`: for every row with unacknowledged local changes, the last state the server sent for it (`null` =
 *   absent). Pulls update the base instead of the row, and the row is rebuilt as base + pending mutations
 *   (pending-rows.ts), so the user's edit is never overwritten and a rejected edit can be undone.
 * - `meta`: key-value bookkeeping (clientId, per-lane seqs, pull cursor, clock offset, HLC, schema version).
 * - `rejections`: mutations the server refused, with its code and message, for the UI to show what to do.
 * - `samples`: sensor samples not yet acknowledged by the server; never pulled.
 *
 * Versions: `LOCAL_DB_VERSIONS` lists every schema version ever shipped, oldest first, and is never edited in
 * place. A new version adds an entry whose `upgrade` migrates the rows (`rewriteRows`, which also rewrites the
 * bases) AND the pending outbox entries (`rewriteOutbox`): yesterday's service worker may have queued mutations
 * in yesterday's shape, and they must survive the upgrade (local-db.test.ts shows a v1 → v2 rename).
 */
import { Dexie, type DexieOptions, type EntityTable, type Table, type Transaction } from 'dexie';
import { newId } from '@vitalwatch/schema/ids';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import type { SyncedTable } from '@vitalwatch/schema/protocol/pull-response';
import { SYNCED_TABLE_REGISTRY, type RowOf } from '@vitalwatch/schema/protocol/synced-tables';

/** Each synced table's row type, from the registry (schema/src/protocol/synced-tables.ts). */
export type RowByTable = { [T in SyncedTable]: RowOf<T> };
export type SyncedRow = RowByTable[SyncedTable];

/** `table/id`: a synced row, as outbox entries and bases name it. */
export type RowRef = `${SyncedTable}/${string}`;

export function rowRef(table: SyncedTable, id: string): RowRef {
  return `${table}/${id}`;
}

export function splitRowRef(ref: string): { table: SyncedTable; id: string } | null {
  const slash = ref.indexOf('/');
  const table = ref.slice(0, slash);
  return slash > 0 && isSyncedTable(table) ? { table, id: ref.slice(slash + 1) } : null;
}

export interface OutboxEntry {
  /** Auto-increment: creation order across lanes. */
  key: number;
  lane: Lane;
  /** Per-lane, contiguous from 1; never reused. */
  seq: number;
  /** `name@version`; kept as a string because an entry may outlive the code that wrote it. */
  name: string;
  args: unknown;
  hlc: string;
  createdAt: number;
  attempts: number;
  lastError: string | null;
  /** The synced rows this mutation changes locally (multi-entry index: "does this row have pending writes?"). */
  refs: RowRef[];
}

export interface BaseRow {
  ref: RowRef;
  /** The row as the server last sent it; null = the server has no such row (as far as we know). */
  row: SyncedRow | null;
  /** An acknowledged (ok/dup) mutation changed the row locally and no pull has confirmed it yet. */
  unconfirmed: boolean;
  /**
   * Those acknowledged mutations, oldest first: a rebuild before the confirming pull re-applies them on top of
   * `row` (then the pending ones), so undoing a rejected edit never undoes an accepted one. Not indexed.
   */
  acked?: OutboxEntry[];
}

export interface Rejection {
  key: number;
  lane: Lane;
  seq: number;
  name: string;
  args: unknown;
  code: string;
  message: string;
  /** When the device learnt of it (ms). */
  at: number;
  createdAt: number;
}

export interface PendingSample {
  id: string;
  kind: number;
  /** ms since the epoch. */
  t: number;
  v: number;
}

export interface MetaValues {
  clientId: string;
  /** The signed-in user this database belongs to (bindUser). */
  userId: string;
  /** Last HLC issued or received, text form. */
  hlc: string;
  cursor: number;
  /**
   * Versions of rows this device created and holds exactly as the server has them (the `v` of an `ok`, SPEC
   * PU12), as inclusive ranges; the next pulls leave those rows out until the cursor passes them.
   */
  skipVersions: Array<[number, number]>;
  /** Server time minus device time, measured on each exchange. */
  clockOffsetMs: number;
  schemaVersion: number;
  /** Device time of the last round that completed its pull (shown as "last synced"). */
  lastSyncedAt: number;
  /** The signed-in session (auth-session.ts parses it on every read). */
  session: unknown;
  /** When the server refused the session's refresh (ms): the user was signed out without asking. */
  sessionEndedAt: number;
  /** When this device erased its data because the account was deleted (erase-local-data.ts): the app says so. */
  accountDeletedAt: number;
}
type LaneMeta = { [L in Lane as `nextSeq:${L}` | `lastAckedSeq:${L}`]: number };
export type MetaKey = keyof MetaValues | keyof LaneMeta;
export type MetaValue<K extends MetaKey> = (MetaValues & LaneMeta)[K];
export interface MetaRow {
  key: MetaKey;
  value: unknown;
}

export interface LocalDbVersion {
  readonly version: number;
  /** Dexie store specs; `null` deletes a store. */
  readonly stores: Readonly<Record<string, string | null>>;
  /** Runs inside the versionchange transaction: migrate rows and pending outbox entries here. */
  readonly upgrade?: (tx: Transaction) => Promise<void>;
}

export const SYNCED_TABLE_NAMES = Object.keys(SYNCED_TABLE_REGISTRY) as SyncedTable[];

/** A Dexie store spec per synced table, from the registry: the key `id`, then the table's indexes (RG4). */
export const SYNCED_STORES = Object.fromEntries(
  SYNCED_TABLE_NAMES.map((table) => [table, ['id', ...SYNCED_TABLE_REGISTRY[table].indexes].join(', ')]),
) as Readonly<Record<SyncedTable, string>>;

/** The stores of the synced tables that device database `version` adds (the registry's `localDbVersion`). */
function syncedStoresAddedIn(version: number): Record<string, string> {
  return Object.fromEntries(
    SYNCED_TABLE_NAMES.filter((table) => SYNCED_TABLE_REGISTRY[table].localDbVersion === version).map(
      (table) => [table, SYNCED_STORES[table]],
    ),
  );
}

/**
 * `shipped` plus the stores of the registry's tables (RG4): a table registered with `localDbVersion: n` joins
 * version n's stores, and version n exists even when nothing else changed in it.
 */
function withRegisteredTables(shipped: readonly LocalDbVersion[]): LocalDbVersion[] {
  const latest = Math.max(...SYNCED_TABLE_NAMES.map((table) => SYNCED_TABLE_REGISTRY[table].localDbVersion));
  const numbers = new Set([
    ...shipped.map((v) => v.version),
    ...Array.from({ length: latest }, (_, i) => i + 1),
  ]);
  return [...numbers]
    .sort((a, b) => a - b)
    .map((version) => {
      const given = shipped.find((v) => v.version === version);
      return { ...given, version, stores: { ...syncedStoresAddedIn(version), ...given?.stores } };
    });
}

export function isSyncedTable(name: string): name is SyncedTable {
  return Object.hasOwn(SYNCED_STORES, name);
}

/**
 * Every version ever shipped, oldest first, with the registry's synced tables joined to the version that adds each
 * (`withRegisteredTables`). Append; never edit a shipped entry.
 */
export const LOCAL_DB_VERSIONS: readonly LocalDbVersion[] = withRegisteredTables([
  {
    version: 1,
    stores: {
      outbox: '++key, [lane+seq], *refs',
      bases: 'ref',
      meta: 'key',
      rejections: '++key, at',
      samples: 'id, [kind+t]',
    },
  },
]);

/** The Dexie table methods that only read. */
type TableReads =
  | 'name'
  | 'get'
  | 'bulkGet'
  | 'where'
  | 'filter'
  | 'count'
  | 'offset'
  | 'limit'
  | 'each'
  | 'toArray'
  | 'toCollection'
  | 'orderBy'
  | 'reverse';

/** A synced table as screens see it: reads only; `put`, `update`, `delete`… do not compile (SPEC CL1, RG6). */
export type ReadonlyTable<T> = Pick<Table<T, string>, TableReads>;

/**
 * `db.mood_entries` and every other synced table by name, read-only: outside web/src/sync nothing writes synced
 * rows (CL1), and the type refuses a write on them. The sync engine writes through `rows(table)`; what the type
 * cannot see (a collection's `modify`, `rows`/`table` by name, a `'rw'` transaction) synced-writes.test.ts scans.
 */
export type SyncedTableViews = { readonly [T in SyncedTable]: ReadonlyTable<RowByTable[T]> };

// Dexie defines a property per store at run time; this interface gives the synced ones their read-only types.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface LocalDb extends SyncedTableViews {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class LocalDb extends Dexie {
  declare outbox: EntityTable<OutboxEntry, 'key'>;
  declare bases: Table<BaseRow, string>;
  declare meta: Table<MetaRow, string>;
  declare rejections: EntityTable<Rejection, 'key'>;
  declare samples: Table<PendingSample, string>;

  constructor(name: string, versions: readonly LocalDbVersion[], options?: DexieOptions) {
    super(name, options);
    for (const v of versions) {
      const stamp = (tx: Transaction) =>
        tx.table<MetaRow, string>('meta').put({ key: 'schemaVersion', value: v.version });
      this.version(v.version)
        .stores(v.stores)
        .upgrade(async (tx) => {
          await v.upgrade?.(tx);
          await stamp(tx);
        });
    }
    const latest = versions.at(-1)?.version ?? 0;
    this.on('populate', (tx) => {
      void tx.table<MetaRow, string>('meta').put({ key: 'schemaVersion', value: latest });
    });
  }

  /** A synced table by name, typed by its row shape. */
  rows<T extends SyncedTable>(table: T): Table<RowByTable[T], string> {
    return this.table<RowByTable[T], string>(table);
  }

  syncedTables(): Table[] {
    return SYNCED_TABLE_NAMES.map((name) => this.table(name));
  }
}

export interface OpenLocalDbOptions {
  name?: string;
  versions?: readonly LocalDbVersion[];
  /** For tests: a private IDBFactory/IDBKeyRange (fake-indexeddb). */
  dexie?: DexieOptions;
}

export function openLocalDb(options: OpenLocalDbOptions = {}): LocalDb {
  return new LocalDb(options.name ?? 'vitalwatch', options.versions ?? LOCAL_DB_VERSIONS, options.dexie);
}

/**
 * Reads meta values inside the caller's transaction (or its own). Values are written only through `metaRow`
 * with the same key, so the stored type is the key's type.
 */
export async function readMeta<K extends MetaKey>(db: LocalDb, keys: readonly K[]) {
  const rows = await db.meta.bulkGet([...keys]);
  const out: Partial<{ [P in K]: MetaValue<P> }> = {};
  rows.forEach((row, i) => {
    const key = keys[i];
    if (row !== undefined && key !== undefined) out[key] = row.value as MetaValue<K>;
  });
  return out;
}

export function metaRow<K extends MetaKey>(key: K, value: MetaValue<K>): MetaRow {
  return { key, value };
}

/** The device's sync identity (created on first use; also the HLC node id). Call inside a rw transaction on meta. */
export async function ensureClientId(db: LocalDb): Promise<string> {
  const { clientId } = await readMeta(db, ['clientId']);
  if (clientId !== undefined) return clientId;
  const created = newId<string>();
  await db.meta.put(metaRow('clientId', created));
  return created;
}

/**
 * Ties this database to the signed-in user. A different user's database is refused: its outbox must never be
 * pushed with someone else's token (the app asks the user, then deletes it with `db.delete()`).
 */
export async function bindUser(db: LocalDb, userId: string): Promise<void> {
  await db.transaction('rw', db.meta, async () => {
    const current = (await readMeta(db, ['userId'])).userId;
    if (current === undefined) await db.meta.put(metaRow('userId', userId));
    else if (current !== userId) {
      throw new Error(
        `This device's data belongs to another account (${current}); sign that account out first.`,
      );
    }
  });
}

/** For an upgrade: rewrites every pending outbox entry. Entries are never dropped; keep `key`, `lane` and `seq`. */
export async function rewriteOutbox(
  tx: Transaction,
  rewrite: (entry: OutboxEntry) => OutboxEntry,
): Promise<void> {
  await tx
    .table<OutboxEntry, number>('outbox')
    .toCollection()
    .modify((entry, ctx) => {
      ctx.value = { ...rewrite(entry), key: entry.key, lane: entry.lane, seq: entry.seq };
    });
}

/** For an upgrade: rewrites every row of a synced table, and the bases (server copies) of that table's rows. */
export async function rewriteRows(
  tx: Transaction,
  table: SyncedTable,
  rewrite: (row: Record<string, unknown>) => Record<string, unknown>,
): Promise<void> {
  await tx
    .table<Record<string, unknown>, string>(table)
    .toCollection()
    .modify((row, ctx) => {
      ctx.value = rewrite(row);
    });
  await tx
    .table<{ ref: string; row: Record<string, unknown> | null }, string>('bases')
    .where('ref')
    .startsWith(`${table}/`)
    .modify((base) => {
      if (base.row !== null) base.row = rewrite(base.row);
    });
}
