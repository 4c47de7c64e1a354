/**
 * An in-memory sync server for the client's tests: the protocol's rules, not the real server's code.
 *
 * - Push: bearer token check (401); body parsed with PushRequest (400); per client × lane `lastSeq`; a seq at or
 *   below it is `dup` and not applied; a gap stops the batch; each mutation is `ok` or `rejected` (unknown
 *   mutator, bad args, wrong lane, contact phone compare-and-swap mismatch, a create without its required fields,
 *   or the test's own `reject` rule), and a rejection still advances `lastSeq`. A batch commits whole or not at
 *   all (`crashAfter` rolls it back like a server restart mid-batch).
 * - Rows: changed through the client's own appliers (apply-mutation.ts); every change stamps the next per-user
 *   version; deletes leave tombstones until `compact()` moves the horizon past them.
 * - Pull: changes after the cursor in version order, paged; a cursor below the horizon gets a reset, whose first
 *   page holds every live row up to the horizon so the cursor it returns continues the same rebuild.
 * - A `dup` to a protocol-5 client carries the first rejection of its seq (PU13); answers carry the client's
 *   protocol (PV3).
 * - Alert delivery, by decree (`dispatch()`): one `alert` ledger row per open incident; after a cancel one more
 *   row (an all-clear, or an escalation after a duress cancel, which only the server knows of). A cancelled
 *   incident's ledger rows are tombstones, as on the real server (AL29).
 */
import { isOpenIncident } from '@vitalwatch/schema/protocol/incident-status';
import { isMutatorName, MUTATORS, type MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { PullRequest } from '@vitalwatch/schema/protocol/pull-request';
import { encodePullPage } from '@vitalwatch/schema/protocol/pull-page';
import type { Change, PullResponse, SyncedTable } from '@vitalwatch/schema/protocol/pull-response';
import { PushRequest } from '@vitalwatch/schema/protocol/push-request';
import {
  DUP_OUTCOME_SINCE_PROTOCOL,
  type MutationResult,
  type PushResponse,
} from '@vitalwatch/schema/protocol/push-response';
import type { AlertLogRow } from '@vitalwatch/schema/protocol/rows';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import { sampleIds } from '@vitalwatch/schema/protocol/sample-ids';
import { bindMutation, type RowStore } from '../src/sync/apply-mutation.ts';
import { rowRef, SYNCED_TABLE_NAMES, type RowByTable, type SyncedRow } from '../src/sync/local-db.ts';
import type { TransportResponse } from '../src/sync/transport.ts';

interface StoredRow {
  readonly table: SyncedTable;
  readonly id: string;
  readonly version: number;
  /** null: a tombstone. */
  readonly row: SyncedRow | null;
}

export interface LedgerEntry {
  readonly clientId: string;
  readonly lane: Lane;
  readonly seq: number;
  readonly name: string;
  readonly status: 'ok' | 'rejected';
  /** A rejection's code and message, for a later `dup` of the same seq. */
  readonly rejection?: { code: string; message: string };
}

export interface FakeSyncServerOptions {
  userId: string;
  now?: () => number;
  /** Extra permanent rejections, e.g. to test how the client shows them. */
  reject?: (mutation: {
    lane: Lane;
    name: string;
    args: unknown;
  }) => { code: string; message: string } | null;
  /** Default page size when the request has no limit. */
  pageSize?: number;
}

export type FakeSyncServer = ReturnType<typeof createFakeSyncServer>;

/** The messages the fake's alert delivery writes. */
const LEDGER_KINDS = ['alert', 'escalation', 'all_clear'] as const;
type LedgerKind = (typeof LEDGER_KINDS)[number];

const json = (status: number, body: unknown): TransportResponse => ({ status, body });
const error = (status: number, code: string, message: string) => json(status, { error_code: code, message });

export function createFakeSyncServer(options: FakeSyncServerOptions) {
  const now = options.now ?? (() => Date.now());
  const pageSize = options.pageSize ?? 1000;
  let state = {
    version: 0,
    horizon: 0,
    rows: new Map<string, StoredRow>(),
    lanes: new Map<string, number>(),
    samples: new Set<string>(),
    ledger: [] as LedgerEntry[],
    /** Incidents cancelled with the duress PIN: server-only, never on the wire. */
    duress: new Set<string>(),
  };
  const tokens = new Set<string>();
  let tokenCount = 0;
  let crashAfter: number | null = null;
  /** While a push applies: its time, stamped on the rows it changes as the real server does (PU10). */
  let pushAt: number | null = null;
  let pushRequests = 0;
  let pullRequests = 0;

  function snapshot(): typeof state {
    return {
      ...state,
      rows: new Map(state.rows),
      lanes: new Map(state.lanes),
      samples: new Set(state.samples),
      ledger: [...state.ledger],
      duress: new Set(state.duress),
    };
  }

  const store: RowStore = {
    get: async (table, id) => {
      const stored = state.rows.get(rowRef(table, id));
      // Rows are stored under their own table's ref, so the row has that table's shape.
      return (stored?.row ?? undefined) as RowByTable[typeof table] | undefined;
    },
    put: async (table, row) => {
      const version = ++state.version;
      const stamped = {
        ...row,
        version,
        ...(pushAt !== null && 'updatedAt' in row && { updatedAt: pushAt }),
      };
      state.rows.set(rowRef(table, row.id), { table, id: row.id, version, row: stamped });
    },
    delete: async (table, id) => {
      const ref = rowRef(table, id);
      if (state.rows.get(ref)?.row == null) return;
      state.rows.set(ref, { table, id, version: ++state.version, row: null });
    },
  };

  function authorized(token: string): boolean {
    return tokens.has(token);
  }

  /** The ledger rows (live or tombstone) of an incident. */
  function ledgerOf(incidentId: string): StoredRow[] {
    return LEDGER_KINDS.flatMap((kind) => {
      const stored = state.rows.get(rowRef('alert_logs', ledgerId(incidentId, kind)));
      return stored === undefined ? [] : [stored];
    });
  }

  /** A ledger row's id: the incident's with the message kind in its last digits (a UUIDv7 still). */
  function ledgerId(incidentId: string, kind: LedgerKind): string {
    const suffix = { alert: '0a1e', escalation: '0e5c', all_clear: '0c1e' }[kind];
    return `${incidentId.slice(0, 32)}${suffix}`;
  }

  async function afterIncidentEvent(args: MutatorArgs<'incident.event@1'>): Promise<void> {
    const incident = await store.get('emergency_incidents', args.incidentId);
    const event = await store.get('incident_events', args.id);
    if (incident?.status !== 'cancelled') return;
    if (args.type === 'cancelled' && args.duress === true && event?.outcome === 'applied') {
      state.duress.add(args.incidentId);
    }
    // AL29: a cancelled incident has no ledger on devices.
    for (const r of ledgerOf(args.incidentId)) await store.delete('alert_logs', r.id);
  }

  function ledgerRow(incident: { id: string }, kind: LedgerKind): AlertLogRow {
    const at = now();
    return {
      id: ledgerId(incident.id, kind),
      version: 0,
      incidentId: incident.id,
      contactId: null,
      channel: 'sms',
      messageKind: kind,
      status: 'not_configured',
      statusHistory: [{ status: 'not_configured', at: new Date(at).toISOString() }],
      errorCode: null,
      response: null,
      respondedAt: null,
      updatedAt: at,
    };
  }

  /** One round of alert delivery: see the header. */
  async function dispatch(): Promise<void> {
    for (const stored of [...state.rows.values()]) {
      if (stored.table !== 'emergency_incidents' || stored.row === null) continue;
      const incident = stored.row as RowByTable['emergency_incidents'];
      const ledger = ledgerOf(incident.id);
      if (isOpenIncident(incident)) {
        if (ledger.length === 0) await store.put('alert_logs', ledgerRow(incident, 'alert'));
        continue;
      }
      if (ledger.length !== 1) continue; // never alerted, or followed up already
      const kind =
        incident.status === 'cancelled' && state.duress.has(incident.id) ? 'escalation' : 'all_clear';
      const row = ledgerRow(incident, kind);
      if (incident.status === 'cancelled') {
        state.rows.set(rowRef('alert_logs', row.id), {
          table: 'alert_logs',
          id: row.id,
          version: ++state.version,
          row: null,
        });
      } else await store.put('alert_logs', row);
    }
  }

  async function judge(lane: Lane, name: string, rawArgs: unknown, hlc: string, at: number) {
    const reject = (code: string, message: string) => ({ status: 'rejected' as const, code, message });
    if (!isMutatorName(name)) return reject('unknown_mutator', `${name} is not known: update the app.`);
    const def = MUTATORS[name];
    if (def.lane !== lane) return reject('wrong_lane', `${name} belongs to lane ${def.lane}.`);
    const parsed = def.args.safeParse(rawArgs);
    const mutation = bindMutation(name, rawArgs);
    if (!parsed.success || mutation === null) {
      return reject('invalid_args', 'The change was not valid and was not saved.');
    }
    const custom = options.reject?.({ lane, name, args: rawArgs });
    if (custom != null) return reject(custom.code, custom.message);
    const args = parsed.data;
    if (name === 'contact.upsert@1' || name === 'contact.delete@1') {
      const a = args as { id: string; phoneE164?: string; expectedPhoneE164?: string | null };
      const current = await store.get('emergency_contacts', a.id);
      const changesPhone = name === 'contact.delete@1' || a.phoneE164 !== undefined;
      if (current !== undefined && changesPhone && a.expectedPhoneE164 !== current.phoneE164) {
        return reject(
          'phone_conflict',
          'This contact’s number was changed on another device: check it and try again.',
        );
      }
    }
    if (name === 'samples.append@1') {
      for (const id of (args as { ids: string[] }).ids) state.samples.add(id);
      return { status: 'ok' as const };
    }
    if (name === 'samples.append@2') {
      // The real server's derivation (CF13): a re-sent batch names the same ids.
      const { id, t0, dt } = args as MutatorArgs<'samples.append@2'>;
      for (const sampleId of sampleIds(id, t0, dt)) state.samples.add(sampleId);
      return { status: 'ok' as const };
    }
    const ctx = { hlc, at, userId: options.userId };
    const refs = mutation.refs(ctx);
    const existed = refs.map((ref) => state.rows.get(ref)?.row != null);
    const versionBefore = state.version;
    await mutation.apply(store, ctx);
    if (name === 'incident.event@1') await afterIncidentEvent(args as MutatorArgs<'incident.event@1'>);
    const created = state.rows.get(refs[0] ?? '');
    if ((name === 'mood.upsert@1' || name === 'contact.upsert@1') && existed[0] === false) {
      if (created?.row == null) return reject('incomplete', 'A new entry needs all its required fields.');
    }
    // PU12: a mood entry or coping use made from nothing, exactly as the device made it.
    const createsAsSent = name === 'mood.upsert@1' || name === 'coping.log@1';
    if (createsAsSent && existed[0] === false && created?.row != null && created.version > versionBefore) {
      return { status: 'ok' as const, v: created.version };
    }
    return { status: 'ok' as const };
  }

  async function push(body: unknown, token: string): Promise<TransportResponse> {
    pushRequests += 1;
    const crashAt = crashAfter;
    crashAfter = null;
    if (!authorized(token)) return error(401, 'invalid_token', 'The access token is not valid.');
    const parsed = PushRequest.safeParse(body);
    if (!parsed.success) return error(400, 'invalid_body', parsed.error.message);
    const request = parsed.data;
    const before = snapshot();
    pushAt = now();
    const laneKey = `${request.clientId}/${request.lane}`;
    let lastSeq = state.lanes.get(laneKey) ?? 0;
    const results: MutationResult[] = [];
    let processed = 0;
    for (const m of request.mutations) {
      if (m.seq <= lastSeq) {
        const first = state.ledger.find(
          (l) => l.clientId === request.clientId && l.lane === request.lane && l.seq === m.seq,
        );
        const rejected = request.protocolVersion >= DUP_OUTCOME_SINCE_PROTOCOL ? first?.rejection : undefined;
        results.push({ seq: m.seq, status: 'dup', ...(rejected && { rejected }) });
        continue;
      }
      if (m.seq > lastSeq + 1) break;
      if (crashAt !== null && processed >= crashAt) {
        state = before;
        pushAt = null;
        throw new Error('server restarted mid-batch');
      }
      processed += 1;
      const verdict = await judge(request.lane, m.name, m.args, m.hlc, m.createdAt);
      results.push({ seq: m.seq, ...verdict });
      state.ledger.push({
        clientId: request.clientId,
        lane: request.lane,
        seq: m.seq,
        name: m.name,
        status: verdict.status,
        ...(verdict.status === 'rejected' && {
          rejection: { code: verdict.code, message: verdict.message },
        }),
      });
      lastSeq = m.seq;
    }
    const at = pushAt;
    pushAt = null;
    state.lanes.set(laneKey, lastSeq);
    const response: PushResponse = {
      protocolVersion: request.protocolVersion,
      lane: request.lane,
      results,
      lastSeq,
      serverTime: now(),
      ...(at !== null && { at }),
    };
    return json(200, response);
  }

  async function pull(body: unknown, token: string): Promise<TransportResponse> {
    pullRequests += 1;
    if (!authorized(token)) return error(401, 'invalid_token', 'The access token is not valid.');
    const parsed = PullRequest.safeParse(body);
    if (!parsed.success) return error(400, 'invalid_body', parsed.error.message);
    const { cursor, limit = pageSize } = parsed.data;
    // As the real server (PL5, PL11): a device naming `skip` holds rows even at cursor 0.
    const holdsRows = cursor > 0 || (parsed.data.skip ?? []).length > 0;
    const reset = holdsRows && cursor < state.horizon;
    const from = reset ? 0 : cursor;
    // As the real server (PL7, PL11): no tombstones for a device that has nothing, none of the skipped rows.
    const skip = reset ? [] : (parsed.data.skip ?? []);
    const tombstones = !reset && (cursor > 0 || skip.length > 0);
    const skipped = (version: number) => skip.some(([lo, hi]) => lo <= version && version <= hi);
    const candidates = [...state.rows.values()]
      .filter((r) => r.version > from && (r.row !== null || tombstones) && !skipped(r.version))
      .sort((a, b) => a.version - b.version);
    const page: StoredRow[] = [];
    for (const r of candidates) {
      // A page below the horizon is never cut: its cursor must not look stale to the next request.
      if (page.length >= limit && (page.at(-1)?.version ?? 0) >= state.horizon) break;
      page.push(r);
    }
    const changes: Change[] = page.map((r) =>
      r.row === null
        ? { op: 'del', table: r.table, version: r.version, id: r.id }
        : { op: 'put', table: r.table, version: r.version, row: { ...r.row } },
    );
    const complete = page.length === candidates.length;
    // Columnar, as the real server answers a protocol-4 client (PL10).
    const response: PullResponse = encodePullPage(
      {
        reset,
        changes,
        cursor: complete ? Math.max(cursor, state.version) : (page.at(-1)?.version ?? cursor),
        complete,
        serverTime: now(),
      },
      parsed.data.protocolVersion,
    );
    return json(200, response);
  }

  return {
    push,
    pull,
    dispatch,
    issueToken(): string {
      const token = `token-${++tokenCount}`;
      tokens.add(token);
      return token;
    },
    /** Every token issued so far stops working (access tokens expire while a device is offline). */
    expireTokens(): void {
      tokens.clear();
    },
    /** Forget tombstones: a device whose cursor is older than now gets a reset. */
    compact(): void {
      for (const [ref, r] of state.rows) if (r.row === null) state.rows.delete(ref);
      state.horizon = state.version;
    },
    /** The next push processes `n` mutations, then the server "restarts": nothing of that batch commits. */
    crashAfter(n: number): void {
      crashAfter = n;
    },
    /** Put a row as another device would have (e.g. to make a conflict). */
    async putRow<T extends SyncedTable>(table: T, row: RowByTable[T]): Promise<void> {
      await store.put(table, row);
    },
    async deleteRow(table: SyncedTable, id: string): Promise<void> {
      await store.delete(table, id);
    },
    liveRows(table: SyncedTable): SyncedRow[] {
      return [...state.rows.values()]
        .filter((r) => r.table === table && r.row !== null)
        .map((r) => r.row)
        .filter((r) => r !== null)
        .sort((a, b) => a.id.localeCompare(b.id));
    },
    tables: SYNCED_TABLE_NAMES,
    get ledger(): readonly LedgerEntry[] {
      return state.ledger;
    },
    get samples(): ReadonlySet<string> {
      return state.samples;
    },
    get version(): number {
      return state.version;
    },
    get requests() {
      return { push: pushRequests, pull: pullRequests };
    },
    lastSeq(clientId: string, lane: Lane): number {
      return state.lanes.get(`${clientId}/${lane}`) ?? 0;
    },
  };
}
