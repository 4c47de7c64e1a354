/**
 * What the integration tests need of the real server's HTTP side: sign-up and sign-in answers, and what the
 * server holds for a user (a fresh device's pull), in the shape a device's store is compared with.
 */
import { newId } from '../schema/src/ids.ts';
import { PROTOCOL_VERSION } from '../schema/src/protocol/protocol-version.ts';
import { decodePullPage } from '../schema/src/protocol/pull-page.ts';
import { PullResponse, type SyncedTable } from '../schema/src/protocol/pull-response.ts';
import { ROW_SCHEMAS } from '../schema/src/protocol/synced-tables.ts';
import {
  SYNCED_TABLE_NAMES,
  type LocalDb,
  type RowByTable,
  type SyncedRow,
} from '../web/src/sync/local-db.ts';

export async function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export interface Session {
  readonly userId: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

/** The session a sign-up, sign-in or refresh answered with. */
export async function sessionFrom(response: Response): Promise<Session> {
  if (response.status !== 200) throw new Error(`auth: HTTP ${response.status} ${await response.text()}`);
  const body = (await response.json()) as {
    access_token: string;
    refresh_token: string;
    user: { id: string };
  };
  return { userId: body.user.id, accessToken: body.access_token, refreshToken: body.refresh_token };
}

/** Every synced row, by table, sorted by id. */
export type Snapshot = { [T in SyncedTable]: Array<RowByTable[T]> };

function snapshotOf(rows: Iterable<{ table: SyncedTable; row: SyncedRow }>): Snapshot {
  const out = Object.fromEntries(SYNCED_TABLE_NAMES.map((t) => [t, [] as SyncedRow[]])) as Record<
    SyncedTable,
    SyncedRow[]
  >;
  for (const { table, row } of rows) out[table].push(row);
  for (const table of SYNCED_TABLE_NAMES) out[table].sort((a, b) => a.id.localeCompare(b.id));
  // Each row was put under its own table above.
  return out as Snapshot;
}

/** What a device holds. */
export async function deviceSnapshot(db: LocalDb): Promise<Snapshot> {
  const rows: Array<{ table: SyncedTable; row: SyncedRow }> = [];
  for (const table of SYNCED_TABLE_NAMES) {
    for (const row of await db.table<SyncedRow, string>(table).toArray()) rows.push({ table, row });
  }
  return snapshotOf(rows);
}

/** What the server holds for the user: a fresh device's pull from cursor 0, every page, rows checked strictly. */
export async function serverSnapshot(serverUrl: string, accessToken: string): Promise<Snapshot> {
  const rows = new Map<string, { table: SyncedTable; row: SyncedRow }>();
  const clientId = newId<string>();
  let cursor = 0;
  for (let page = 0; ; page++) {
    if (page === 100) throw new Error('the pull from cursor 0 did not complete in 100 pages');
    const res = await fetch(`${serverUrl}/sync/pull`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION, clientId, cursor }),
    });
    if (res.status !== 200) throw new Error(`pull from cursor 0: HTTP ${res.status} ${await res.text()}`);
    const body = decodePullPage(PullResponse.parse(await res.json()));
    for (const change of body.changes) {
      if (change.op === 'del') rows.delete(`${change.table}/${change.id}`);
      else {
        const row = ROW_SCHEMAS[change.table].parse(change.row);
        rows.set(`${change.table}/${row.id}`, { table: change.table, row });
      }
    }
    cursor = body.cursor;
    if (body.complete) break;
  }
  return snapshotOf(rows.values());
}
