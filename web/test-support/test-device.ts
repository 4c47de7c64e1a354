/**
 * Test kit (imported by *.test.ts only, never by the app): a device = local database + mutators + sync client on
 * an in-memory transport to a server (the fake one, or the real one over HTTP in integration/), with an injected
 * clock, seeded ids and a token it refreshes from the server. Tests need `import 'fake-indexeddb/auto'` before this
 * module.
 */
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import {
  bindUser,
  metaRow,
  openLocalDb,
  SYNCED_TABLE_NAMES,
  type LocalDb,
  type SyncedRow,
} from '../src/sync/local-db.ts';
import { createMemoryTransport, type MemoryTransport, type SyncEndpoint } from './memory-transport.ts';
import { createMutators, type Mutators } from '../src/sync/mutators.ts';
import { createSyncClient, type SyncClient, type SyncClientDeps } from '../src/sync/sync-client.ts';

export const TEST_USER_ID = '0190a000-0000-7000-8000-000000000001';

/** UUIDv7s from a seeded PRNG and a clock: reproducible runs. */
export function seededIds(random: () => number, now: () => number): () => string {
  const hex = (digits: number) =>
    Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');
  return () => {
    const ms = now().toString(16).padStart(12, '0').slice(-12);
    const variant = (8 + Math.floor(random() * 4)).toString(16);
    return `${ms.slice(0, 8)}-${ms.slice(8)}-7${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
  };
}

export class TestClock {
  constructor(public t = 1_767_225_600_000) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestDevice {
  readonly name: string;
  readonly db: LocalDb;
  readonly mutators: Mutators;
  readonly net: MemoryTransport;
  client: SyncClient;
  /** Writes per lane since the device was made (what the sync loop would have been told). */
  readonly writes: Record<Lane, number>;
  refreshes: number;
  /** When false, refreshing the token fails (the session is gone). */
  canRefresh: boolean;
  /** A new sync client on the same database (the app was killed and restarted, maybe as a newer version). */
  restart(client?: Partial<Omit<SyncClientDeps, 'db' | 'transport'>>): void;
  /** Every synced row, by table, sorted by id. */
  snapshot(): Promise<Record<string, SyncedRow[]>>;
  close(): Promise<void>;
}

let deviceCount = 0;

/** A server a test device can reach: the fake one, or the real one over HTTP (integration/). */
export interface TestServer extends SyncEndpoint {
  /** A fresh access token for the user (the device's sign-in, and its refresh). */
  issueToken(): string | Promise<string>;
}

export async function createTestDevice(
  server: TestServer,
  options: {
    now: () => number;
    manual?: boolean;
    userId?: string;
    /** The device id (default: a random one at its first round), e.g. to replay a seed exactly. */
    clientId?: string;
    client?: Partial<Omit<SyncClientDeps, 'db' | 'transport'>>;
  },
): Promise<TestDevice> {
  deviceCount += 1;
  const name = `vitalwatch-test-${deviceCount}`;
  const db = openLocalDb({ name });
  await bindUser(db, options.userId ?? TEST_USER_ID);
  if (options.clientId !== undefined) await db.meta.put(metaRow('clientId', options.clientId));
  const writes: Record<Lane, number> = { critical: 0, user: 0, bulk: 0 };
  let token = await server.issueToken();
  let net = createMemoryTransport(server, { manual: options.manual ?? false });
  const device: TestDevice = {
    name,
    db,
    mutators: createMutators({ db, now: options.now, onCommitted: (lane) => (writes[lane] += 1) }),
    get net() {
      return net;
    },
    client: makeClient(),
    writes,
    refreshes: 0,
    canRefresh: true,
    restart(client = {}) {
      net = createMemoryTransport(server, { manual: options.manual ?? false });
      device.client = makeClient(client);
    },
    async snapshot() {
      const out: Record<string, SyncedRow[]> = {};
      for (const table of SYNCED_TABLE_NAMES) {
        out[table] = (await db.table<SyncedRow, string>(table).toArray()).sort((a, b) =>
          a.id.localeCompare(b.id),
        );
      }
      return out;
    },
    async close() {
      db.close();
      await db.delete();
    },
  };
  function makeClient(overrides: Partial<Omit<SyncClientDeps, 'db' | 'transport'>> = {}): SyncClient {
    return createSyncClient({
      db,
      transport: net,
      now: options.now,
      getAccessToken: async () => token,
      refreshAccessToken: async () => {
        device.refreshes += 1;
        if (!device.canRefresh) return null;
        token = await server.issueToken();
        return token;
      },
      ...options.client,
      ...overrides,
    });
  }
  return device;
}
