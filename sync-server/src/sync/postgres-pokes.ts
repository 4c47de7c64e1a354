/**
 * Pokes across server instances: `publish` sends a Postgres NOTIFY, and every instance LISTENs and hands what it
 * hears to its in-process hub, its own notifications included (so one instance behaves the same as many).
 *
 * LISTEN needs a session, which Neon's pooler (PgBouncer, transaction mode) cannot give: use the direct URL
 * (DATABASE_URL_UNPOOLED). If that connection drops, or cannot be opened at start, it is (re-)opened after a second;
 * pokes sent meanwhile are lost, which costs a device only the wait until its next timed pull (pokes are a hint,
 * never the only trigger).
 */
import pg from 'pg';
import type { UserId } from '@vitalwatch/schema/ids';
import { PokeHub, type PokeListener, type Pokes } from './poke-hub.ts';

export const POKE_CHANNEL = 'vw_sync_poke';
const RECONNECT_MS = 1000;

export type PostgresPokes = Pokes & { close(): Promise<void> };

export async function startPostgresPokes(
  directUrl: string,
  onError: (error: unknown) => void = () => {},
): Promise<PostgresPokes> {
  const hub = new PokeHub();
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: directUrl });
    next.on('notification', (message) => {
      const [userId, version] = (message.payload ?? '').split(' ');
      const parsed = Number(version);
      if (userId && Number.isSafeInteger(parsed)) hub.publish(userId as UserId, parsed);
    });
    next.on('error', (error) => {
      onError(error);
      lost(next);
    });
    next.on('end', () => lost(next));
    try {
      await next.connect();
      await next.query(`listen ${POKE_CHANNEL}`);
    } catch (error) {
      // A connection that opened but could not LISTEN would otherwise stay open, unused, for good.
      await next.end().catch(() => {});
      throw error;
    }
    if (closed) {
      await next.end();
      return;
    }
    client = next;
  }

  function scheduleReconnect() {
    if (closed || retry !== null) return;
    retry = setTimeout(() => {
      retry = null;
      connect().catch((error: unknown) => {
        onError(error);
        scheduleReconnect();
      });
    }, RECONNECT_MS);
    retry.unref();
  }

  function lost(dead: pg.Client) {
    if (client !== dead) return;
    client = null;
    scheduleReconnect();
  }

  await connect().catch((error: unknown) => {
    onError(error);
    scheduleReconnect();
  });
  return {
    subscribe: (userId: UserId, listener: PokeListener) => hub.subscribe(userId, listener),
    publish(userId, version) {
      const current = client;
      if (current === null) return;
      current.query('select pg_notify($1, $2)', [POKE_CHANNEL, `${userId} ${version}`]).catch(onError);
    },
    async close() {
      closed = true;
      if (retry !== null) clearTimeout(retry);
      await client?.end();
    },
  };
}
