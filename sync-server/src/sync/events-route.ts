/**
 * `GET /sync/events`: a server-sent event stream of pokes for the signed-in user. The first event carries the
 * user's current version, so a device that reconnects learns at once whether it missed anything; after that one
 * poke follows each commit that changed the user's synced rows. A comment line every 25 s keeps proxies from
 * closing an idle stream. Authenticated by `Authorization: Bearer` (the client reads the stream with fetch, which
 * can send it; EventSource cannot), with the access token or a sync token like the other sync routes (AU5, AU6).
 *
 * A stream lives no longer than its session (SE42): it ends when its session is announced ended (sign-out,
 * refresh-token reuse; `SessionEnds`, across instances on Postgres) and, as a backstop for a notice lost on the
 * way, when the heartbeat finds the session revoked or expired. With Supabase Auth the server does not know when a
 * session ends, so a stream there ends only when the client or the server closes it.
 */
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { eq } from 'drizzle-orm';
import { userVersions } from '@vitalwatch/schema/db/tables';
import type { Poke } from '@vitalwatch/schema/protocol/poke';
import type { Db } from '../db/database.ts';
import { withUser } from '../db/with-user.ts';
import { isSessionLive, type Identity } from '../auth/identity.ts';
import type { SessionEnds } from '../auth/session-end-hub.ts';
import { callerOf } from '../http/authenticate-first.ts';
import type { Pokes } from './poke-hub.ts';

/**
 * Realtime alerts to show in a user's open apps (alerts/realtime.ts's hub is one). A shape of its own, so the sync
 * routes never import alert delivery, which depends on them (.dependency-cruiser.cjs).
 */
export type AlertStream = { subscribe(userId: string, listener: (alert: object) => void): () => void };

const HEARTBEAT_MS = 25_000;

function sseEvent(poke: Poke): string {
  return `event: poke\ndata: ${JSON.stringify(poke)}\n\n`;
}

export async function registerEventsRoute(
  app: FastifyInstance,
  deps: {
    db: Db;
    identity: Identity;
    authenticate: onRequestAsyncHookHandler;
    pokes: Pokes;
    sessionEnds: SessionEnds;
    alerts?: AlertStream;
  },
): Promise<void> {
  // Open streams never end on their own: end them when the server closes, or close() would wait for every client.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  app.get('/sync/events', { helmet: false, onRequest: deps.authenticate }, async (request, reply) => {
    const caller = callerOf(request);
    const [state] = await withUser(deps.db, caller.claims, (tx) =>
      tx
        .select({ version: userVersions.version })
        .from(userVersions)
        .where(eq(userVersions.userId, caller.userId)),
    );

    reply.hijack();
    const out = reply.raw;
    // The sync token the check handed out (AU6) and helmet's headers were set before the reply was hijacked.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) out.setHeader(name, value);
    }
    out.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and similar proxies otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    let latest = state?.version ?? 0;
    // Subscribed before the first event, so an ending announced once a client has seen the stream open is heard.
    const { sessionId } = caller;
    const checked = deps.identity.kind === 'embedded' ? sessionId : null;
    const unsubscribeEnd =
      sessionId === null ? undefined : deps.sessionEnds.subscribe(sessionId, () => end());
    out.write(sseEvent({ type: 'poke', version: latest }));

    const unsubscribe = deps.pokes.subscribe(caller.userId, (version) => {
      // Pokes may arrive out of order across instances; a device only needs the newest.
      if (version <= latest) return;
      latest = version;
      out.write(sseEvent({ type: 'poke', version }));
    });
    // Realtime alerts for this user as someone's emergency contact (issue #5): shown at once by an open app.
    const unsubscribeAlerts = deps.alerts?.subscribe(caller.userId, (payload) => {
      out.write(`event: alert\ndata: ${JSON.stringify(payload)}\n\n`);
    });
    const heartbeat = setInterval(() => {
      out.write(': ping\n\n');
      if (checked === null) return;
      isSessionLive(deps.db, checked, caller.userId).then(
        (live) => {
          if (!live) end();
        },
        (error: unknown) => request.log.warn({ err: error }, 'event stream: could not check its session'),
      );
    }, HEARTBEAT_MS);
    heartbeat.unref();
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
      unsubscribeAlerts?.();
      unsubscribeEnd?.();
      open.delete(end);
    };
    const end = () => {
      close();
      out.end();
    };
    open.add(end);
    request.raw.once('close', close);
    out.once('close', close);
  });
}
