/**
 * `/a/<token>`: the page a contact opens from an alert, with no app and no login (SPEC AL9). The token (96
 * random bits, one per contact × incident, expiring) is the only credential: it shows that one incident's
 * status, when it started, and the last location if the user shares it with this contact, and takes one answer:
 * "I'm on my way" or "I can't help". Plain HTML and a form: it must work on any phone's browser, over 2G.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import formbody from '@fastify/formbody';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { utcStamp } from '@vitalwatch/schema/sms/utc-stamp';
import type { Db } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';
import { parseInput } from '../http/http-error.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import { recordResponse } from './responses.ts';

const Token = z.string().regex(/^[A-Za-z0-9_-]{16}$/, 'is not an alert link');
const Answer = z.strictObject({ response: z.enum(['on_my_way', 'cannot_help']) });

type LinkView = {
  user_id: string;
  incident_id: string;
  contact_id: string;
  expires_at: Date | string;
  response: string | null;
  contact_name: string;
  share_location: boolean;
  display_name: string | null;
  status: string;
  silent_escalation: boolean;
  triggered_at: Date | string;
  latitude: number | null;
  longitude: number | null;
  accuracy_meters: number | null;
  located_at: Date | string | null;
};

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
const ms = (value: Date | string) => new Date(value).getTime();

function page(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-robots-tag', 'noindex')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
    .send(
      `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
        `<title>${escapeHtml(title)}</title><style>body{font:18px/1.4 system-ui,sans-serif;margin:1em;max-width:32em}` +
        `button{font-size:1.1em;padding:.7em 1em;margin:.3em 0;width:100%}.warn{color:#a00}</style>` +
        `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

const STATUS_TEXT: Record<string, string> = {
  active: 'Needs help now. Nobody has said they are on the way yet.',
  acknowledged: 'Needs help now. Someone has said they are responding.',
  resolved: 'Safe now: they said the emergency is over.',
  cancelled: 'The alert was cancelled.',
};

export async function registerAckPageRoutes(
  app: FastifyInstance,
  deps: { db: Db; pokes: Pokes; now: () => Date; onChange?: (incidentId: string) => void },
): Promise<void> {
  async function load(token: string): Promise<LinkView | null> {
    const [row] = await queryRows<LinkView>(
      deps.db,
      sql`select l.user_id, l.incident_id, l.contact_id, l.expires_at, l.response, c.name as contact_name,
            c.share_location, u.display_name, i.status, i.silent_escalation, i.triggered_at, i.latitude,
            i.longitude, i.accuracy_meters, i.located_at
          from alert_links l
          join emergency_incidents i on i.id = l.incident_id
          join emergency_contacts c on c.id = l.contact_id
          join users u on u.id = l.user_id
          where l.token = ${token}`,
    );
    return row ?? null;
  }

  function gone(reply: FastifyReply) {
    return page(reply, 404, 'Alert link not found', '<p>This link is wrong or has expired.</p>');
  }

  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 1024 });

    scope.get<{ Params: { token: string } }>('/a/:token', async (request, reply) => {
      const token = Token.safeParse(request.params.token);
      const view = token.success ? await load(token.data) : null;
      if (view === null || ms(view.expires_at) < deps.now().getTime()) return gone(reply);
      const name = view.display_name ?? 'A VitalWatch user';
      // A duress cancel must look like an open alert here too: the contacts are the ones who must act.
      const status = view.silent_escalation ? 'active' : view.status;
      const open = status === 'active' || status === 'acknowledged';
      const parts = [
        `<p><strong>${escapeHtml(STATUS_TEXT[status] ?? status)}</strong></p>`,
        `<p>SOS sent ${utcStamp(ms(view.triggered_at))}.</p>`,
      ];
      if (view.share_location && view.latitude !== null && view.longitude !== null) {
        const coords = `${view.latitude.toFixed(5)},${view.longitude.toFixed(5)}`;
        const accuracy =
          view.accuracy_meters === null ? '' : ` (within ${Math.round(view.accuracy_meters)} m)`;
        const when = view.located_at === null ? '' : `, ${utcStamp(ms(view.located_at))}`;
        parts.push(
          `<p>Last location: <a href="https://maps.google.com/?q=${coords}">${coords}</a>${accuracy}${when}.</p>`,
        );
      } else {
        parts.push('<p>Location not shared.</p>');
      }
      if (view.response !== null) {
        const said = view.response === 'cannot_help' ? "you can't help" : "you're responding";
        parts.push(`<p>You told ${escapeHtml(name)} ${said}.</p>`);
      }
      if (open) {
        parts.push(
          `<form method="post"><button name="response" value="on_my_way">I'm on my way</button>` +
            `<button name="response" value="cannot_help">I can't help</button></form>`,
          '<p class="warn">If they are in immediate danger, call the local emergency number.</p>',
        );
      }
      return page(reply, 200, `${name} sent an SOS`, parts.join(''));
    });

    scope.post<{ Params: { token: string } }>('/a/:token', async (request, reply) => {
      const token = Token.safeParse(request.params.token);
      const view = token.success ? await load(token.data) : null;
      if (view === null || ms(view.expires_at) < deps.now().getTime()) return gone(reply);
      const { response } = parseInput(Answer, request.body, 'body');
      await recordResponse(deps, {
        userId: view.user_id,
        incidentId: view.incident_id,
        contactId: view.contact_id,
        response,
      });
      return reply.redirect(`/a/${token.data}`, 303);
    });
  });
}
