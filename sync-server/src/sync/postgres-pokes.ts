/**
 * Pokes across server instances: `publish` sends a Postgres NOTIFY, and every instance LISTENs and hands what it
 * hears to its in-process hub, its own notifications included (so one instance behaves the same as many).
 *
 * LISTEN needs a session, which Neon's pooler (PgBouncer, transaction mode) cannot give: use the direct URL
 * (DATABASE_URL_UNPOOLED). If that connection drops, or cannot be opened at start, it is (re-)opened after a second;
 * pokes sent meanwhile are lost, which costs a device only the wait until its next timed pull (pokes are a hint,
 * never the only trigger).
 *
 * The same connection carries ended sessions (`vw_session_end`, payload the session id; SPEC SE42) to every
 * instance's `SessionEndHub`, so a sign-out on one instance ends the event streams open on another. They are
 * announced in this instance at once, then notified; one lost meanwhile is caught by the stream's heartbeat check.
 */
import pg from 'pg';
import type { UserId } from '@vitalwatch/schema/ids';
import { SessionEndHub, type SessionEnds } from '../auth/session-end-hub.ts';
import { PokeHub, type PokeListener, type Pokes } from './poke-hub.ts';

export const POKE_CHANNEL = 'vw_sync_poke';
export const SESSION_END_CHANNEL = 'vw_session_end';
const RECONNECT_MS = 1000;

export type PostgresPokes = Pokes & { sessionEnds: SessionEnds; close(): Promise<void> };

export async function startPostgresPokes(
  directUrl: string,
  onError: (error: unknown) => void = () => {},
): Promise<PostgresPokes> {
  const hub = new PokeHub();
  const ends = new SessionEndHub();
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: directUrl });
    next.on('notification', (message) => {
      if (message.channel === SESSION_END_CHANNEL) {
        if (message.payload) ends.publish(message.payload);
        return;
      }
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
      await next.query(`listen ${SESSION_END_CHANNEL}`);
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
    sessionEnds: {
      subscribe: (sessionId, listener) => ends.subscribe(sessionId, listener),
      publish(sessionId) {
        ends.publish(sessionId);
        client?.query('select pg_notify($1, $2)', [SESSION_END_CHANNEL, sessionId]).catch(onError);
      },
    },
    async close() {
      closed = true;
      if (retry !== null) clearTimeout(retry);
      await client?.end();
    },
  };
}
