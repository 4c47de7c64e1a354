import { describe, expect, it } from 'vitest';
import { newId } from '../ids.ts';
import { decodePullPage, encodePullPage, type PullPage } from './pull-page.ts';
import { PullResponse, type Change, type SyncedTable } from './pull-response.ts';
import { ROW_SCHEMAS } from './synced-tables.ts';

const at = Date.UTC(2026, 10, 20);
const hlc = `${at}-0001-0d1`;
const location = { latitude: 51.5, longitude: -0.12, accuracyMeters: 8.5, locatedAt: at };
const noLocation = { latitude: null, longitude: null, accuracyMeters: null, locatedAt: null };

/** A valid row of every synced table, with nulls, arrays and (contacts) the optional field both ways. */
function rowsAt(version: number): Array<[SyncedTable, Record<string, unknown>]> {
  const incidentId = newId();
  return [
    [
      'user_settings',
      {
        id: '2f1c7a52-8a4e-4d3c-9b1a-0c5d6e7f8a9b',
        version,
        sosCountdownSeconds: 5,
        cancelPinSet: false,
        duressPinSet: true,
        autoRecordAudioSeconds: 30,
        shareMediaWithContacts: false,
        shareLocationWithContacts: true,
        escalateTier2AfterSeconds: 120,
        escalateAllAfterSeconds: 300,
        updatedAt: at,
      },
    ],
    ...[true, undefined].map((appLinked): [SyncedTable, Record<string, unknown>] => [
      'emergency_contacts',
      {
        id: newId(),
        version,
        name: 'Sam “Mum” O’Neill',
        phoneE164: '+447700900123',
        relationship: appLinked === undefined ? null : 'mother',
        tier: 1,
        notifyBySms: true,
        shareLocation: false,
        notes: null,
        hlc,
        updatedAt: at,
        ...(appLinked !== undefined && { appLinked }),
      },
    ]),
    [
      'emergency_incidents',
      {
        id: incidentId,
        version,
        code: 'A7F3',
        trigger: 'panic_button',
        status: 'acknowledged',
        triggeredAt: at - 60_000,
        receivedAt: at - 59_000,
        acknowledgedAt: at,
        resolvedAt: null,
        ...location,
      },
    ],
    [
      'incident_events',
      {
        id: newId(),
        version,
        incidentId,
        type: 'acknowledged',
        at,
        outcome: 'applied',
        ...noLocation,
      },
    ],
    [
      'alert_logs',
      {
        id: newId(),
        version,
        incidentId,
        contactId: null,
        channel: 'sms',
        messageKind: 'alert',
        status: 'delivered',
        statusHistory: [
          { status: 'queued', at: '2026-11-20T00:00:00.000Z' },
          { status: 'delivered', at: '2026-11-20T00:00:02.000Z' },
        ],
        errorCode: null,
        response: 'on_my_way',
        respondedAt: at,
        updatedAt: at,
      },
    ],
    [
      'mood_entries',
      {
        id: newId(),
        version,
        recordedAt: at,
        mood: 4,
        energy: null,
        anxiety: 2,
        sleepHours: 7.5,
        emotions: ['calm', 'hopeful'],
        note: null,
        hlc: null,
        updatedAt: at,
      },
    ],
    [
      'coping_tools_usage',
      {
        id: newId(),
        version,
        tool: 'box_breathing',
        startedAt: at,
        durationSeconds: null,
        completed: true,
        moodBefore: 2,
        moodAfter: 3,
        helpfulness: null,
      },
    ],
  ];
}

/** The first of `rowsAt(version)`'s rows of `table`. */
function rowOf(table: SyncedTable, version: number): Record<string, unknown> {
  const found = rowsAt(version).find(([t]) => t === table);
  if (found === undefined) throw new Error(`no ${table} row`);
  return found[1];
}

const put = (table: SyncedTable, row: Record<string, unknown>): Change => ({
  op: 'put',
  table,
  version: Number(row.version),
  row,
});

function page(changes: Change[], extra: Partial<PullPage> = {}): PullPage {
  return { reset: false, changes, cursor: 40, complete: true, serverTime: at, ...extra };
}

/** What the device does: JSON on the wire, the protocol's strict parse, then the decode. */
function overTheWire(original: PullPage): PullPage {
  return decodePullPage(PullResponse.parse(JSON.parse(JSON.stringify(encodePullPage(original)))));
}

/** A valid one-group wire page of mood rows to break in the rejection tests. */
function moodWire(): PullResponse {
  const moods = [1, 2].map((v) => put('mood_entries', rowOf('mood_entries', v)));
  return PullResponse.parse(JSON.parse(JSON.stringify(encodePullPage(page(moods)))));
}

function refusal(wire: unknown): string {
  const parsed = PullResponse.safeParse(wire);
  expect(parsed.success).toBe(false);
  return parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n') ?? '';
}

describe('columnar pull pages (protocol 4)', () => {
  it('[PL10] encode → JSON → decode gives every table’s rows, nulls, arrays and tombstones back in version order', () => {
    let version = 0;
    const changes: Change[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [table, row] of rowsAt(0)) {
        version += 1;
        changes.push(put(table, { ...row, version }));
      }
      for (const table of ['emergency_contacts', 'mood_entries', 'alert_logs'] as const) {
        changes.push({ op: 'del', table, version: ++version, id: newId() });
      }
    }
    const original = page(changes, { reset: true, cursor: version, complete: false });
    const back = overTheWire(original);
    expect(back).toEqual(original);
    for (const change of back.changes) {
      if (change.op === 'put') expect(ROW_SCHEMAS[change.table].parse(change.row)).toEqual(change.row);
    }
    // A contact without the optional `appLinked` comes back without it, not with `undefined`.
    const contacts = back.changes.filter((c) => c.op === 'put' && c.table === 'emergency_contacts');
    expect(contacts.map((c) => c.op === 'put' && 'appLinked' in c.row)).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
    ]);
  });

  it('[PL10] sends each table’s column names once and each version once', () => {
    const moods = Array.from({ length: 50 }, (_, i) => put('mood_entries', rowOf('mood_entries', i + 1)));
    const wire = encodePullPage(page(moods));
    expect(wire.tables).toHaveLength(1);
    expect(wire.tables[0]?.columns).toEqual(Object.keys(ROW_SCHEMAS.mood_entries.shape));
    expect(wire.tables[0]?.values.every((column) => column.length === 50)).toBe(true);
    expect(JSON.stringify(wire).match(/"recordedAt"/g)).toHaveLength(1);
    expect(wire).not.toHaveProperty('changes');
  });

  it('[PL10] an empty page round-trips as empty tables and tombstones', () => {
    const empty = page([], { cursor: 7 });
    expect(encodePullPage(empty)).toMatchObject({ tables: [], deleted: [], cursor: 7, complete: true });
    expect(overTheWire(empty)).toEqual(empty);
  });

  it('[PL10] decodes in version order whatever the groups’ order, so a later change of a row comes after an earlier one', () => {
    const mood = rowOf('mood_entries', 2);
    const contact = rowOf('emergency_contacts', 4);
    const wire = PullResponse.parse({
      protocolVersion: 4,
      reset: false,
      tables: [
        {
          table: 'emergency_contacts',
          columns: Object.keys(contact),
          values: Object.values(contact).map((v) => [v]),
        },
        { table: 'mood_entries', columns: Object.keys(mood), values: Object.values(mood).map((v) => [v]) },
      ],
      deleted: [
        { table: 'mood_entries', ids: [String(mood.id), newId()], versions: [6, 1] },
        { table: 'coping_tools_usage', ids: [newId()], versions: [5] },
      ],
      cursor: 6,
      complete: true,
      serverTime: at,
    });
    const changes = decodePullPage(wire).changes;
    expect(changes.map((c) => [c.version, c.op, c.table])).toEqual([
      [1, 'del', 'mood_entries'],
      [2, 'put', 'mood_entries'],
      [4, 'put', 'emergency_contacts'],
      [5, 'del', 'coping_tools_usage'],
      [6, 'del', 'mood_entries'],
    ]);
  });

  it('[PL10] refuses a page whose columns hold different numbers of values, or more or fewer arrays than columns', () => {
    const short = moodWire();
    short.tables[0]?.values[3]?.pop();
    expect(refusal(short)).toMatch(/tables\.0\.values\.3: 1 values where column 0 has 2/);
    const extra = moodWire();
    extra.tables[0]?.values.push([1, 2]);
    expect(refusal(extra)).toMatch(/tables\.0\.values: 12 value arrays for 11 columns/);
    const tombstones = moodWire();
    tombstones.deleted.push({ table: 'mood_entries', ids: [newId(), newId()], versions: [3] });
    expect(refusal(tombstones)).toMatch(/deleted\.0\.versions: ids and versions must have the same length/);
  });

  it('[PL10] refuses an unknown, a repeated or a missing column, and a version that is not an integer', () => {
    const unknown = moodWire();
    unknown.tables[0]!.columns[8] = 'userId';
    expect(refusal(unknown)).toMatch(/tables\.0\.columns\.8: userId is not a column of mood_entries/);
    const repeated = moodWire();
    repeated.tables[0]!.columns[3] = 'recordedAt';
    expect(refusal(repeated)).toMatch(/tables\.0\.columns\.3: column recordedAt appears twice/);
    const missing = moodWire();
    missing.tables[0]!.columns.splice(3, 1);
    missing.tables[0]!.values.splice(3, 1);
    expect(refusal(missing)).toMatch(/tables\.0\.columns: mood_entries needs the column mood/);
    const noVersion = moodWire();
    noVersion.tables[0]!.columns.splice(1, 1);
    noVersion.tables[0]!.values.splice(1, 1);
    expect(refusal(noVersion)).toMatch(/needs the column version/);
    const fraction = moodWire();
    fraction.tables[0]!.values[1]![0] = 1.5;
    expect(refusal(fraction)).toMatch(/tables\.0\.values\.1\.0: a version must be an integer/);
    const wire = moodWire();
    const otherTable = { ...wire, tables: [{ ...wire.tables[0], table: 'sensor_readings' }] };
    expect(PullResponse.safeParse(otherTable).success).toBe(false);
    const oldShape = { ...moodWire(), changes: [] };
    expect(PullResponse.safeParse(oldShape).success).toBe(false);
  });

  it('[PL10] refuses to encode a row its table does not have, or a put whose version is not its row’s', () => {
    const table = 'mood_entries';
    const row = rowOf(table, 3);
    expect(() => encodePullPage(page([put(table, { ...row, userId: newId() })]))).toThrow(
      /mood_entries rows have no field userId/,
    );
    expect(() => encodePullPage(page([{ op: 'put', table, version: 4, row }]))).toThrow(/version 4/);
  });
});
