/**
 * `/a/<token>`: the page a contact opens from an alert, with no app and no login (SPEC AL9). The token (96
 * random bits, one per contact × incident, expiring) is the only credential: it shows that one incident's
 * status, when it started, and the last location if the user shares it with this contact, and takes one answer:
 * "I'm on my way" or "I can't help". Plain HTML and a form: it must work on any phone's browser, over 2G.
 *
 * Evidence (issue #6, SPEC AL9): when the user lets the contacts they alert see it (`share_media_with_contacts`),
 * the page lists the incident's verified recordings and photos, each a download link signed for this visit
 * (`MAX_EVIDENCE_LINK_SECONDS`, never past the alert link's own expiry). Without that setting, or without a
 * store to sign for, nothing about the files is shown.
 *
 * A contact who uses VitalWatch is offered the app's `#/link/<token>` screen (SPEC AL22), which links their own
 * account to this contact so later alerts also reach them by Web Push and in the open app (app-link-routes.ts).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import formbody from '@fastify/formbody';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { smsTime } from '@vitalwatch/schema/sms/sms-time';
import type { Db } from '../db/database.ts';
import { queryRows } from '../db/query-rows.ts';
import { parseInput } from '../http/http-error.ts';
import type { Pokes } from '../sync/poke-hub.ts';
import { AlertLinkToken, isLinkLive } from './alert-link-token.ts';
import { recordResponse } from './responses.ts';

const Answer = z.strictObject({ response: z.enum(['on_my_way', 'cannot_help']) });

/** How long an evidence link on the page works: long enough to listen, short enough not to be passed on. */
export const MAX_EVIDENCE_LINK_SECONDS = 60 * 60;

/** Signs a download URL (path and query, on this server) for one stored object; storage-routes' signer. */
export type SignEvidenceUrl = (
  object: { bucket: string; path: string },
  expiresInSeconds: number,
) => Promise<string>;

type EvidenceView = {
  bucket: string;
  object_path: string;
  content_type: string;
  size_bytes: number | string;
  captured_at: Date | string | null;
  duration_ms: number | null;
};

type LinkView = {
  user_id: string;
  incident_id: string;
  contact_id: string;
  expires_at: Date | string;
  response: string | null;
  contact_name: string;
  share_location: boolean;
  display_name: string | null;
  /** The owner asked for the account to be deleted (SPEC DR8): the link is gone already. */
  deleting: boolean;
  status: string;
  silent_escalation: boolean;
  triggered_at: Date | string;
  latitude: number | null;
  longitude: number | null;
  accuracy_meters: number | null;
  located_at: Date | string | null;
  /** The phone's UTC offset at the trigger; null from apps before protocol 5 (times then show UTC). */
  utc_offset_minutes: number | null;
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

function describeEvidence(file: EvidenceView, utcOffsetMinutes: number): string {
  const kind = file.content_type.startsWith('audio/') ? 'Recording' : 'Photo';
  const seconds = file.duration_ms === null ? null : Math.round(file.duration_ms / 1000);
  const length =
    seconds === null ? '' : ` ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  const size = Number(file.size_bytes);
  const sizeText =
    size < 1024 * 1024 ? `${Math.max(1, Math.round(size / 1024))} KB` : `${(size / 1048576).toFixed(1)} MB`;
  const when = file.captured_at === null ? '' : `, ${smsTime(ms(file.captured_at), utcOffsetMinutes)}`;
  return `${kind}${length} (${sizeText}${when})`;
}

const STATUS_TEXT: Record<string, string> = {
  active: 'Needs help now. Nobody has said they are on the way yet.',
  acknowledged: 'Needs help now. Someone has said they are responding.',
  resolved: 'Safe now: they said the emergency is over.',
  cancelled: 'The alert was cancelled.',
};

export async function registerAckPageRoutes(
  app: FastifyInstance,
  deps: {
    db: Db;
    pokes: Pokes;
    now: () => Date;
    onChange?: (incidentId: string) => void;
    /** null: no evidence store on this server, so no evidence links. */
    signEvidenceUrl?: SignEvidenceUrl | null;
  },
): Promise<void> {
  async function load(token: string): Promise<LinkView | null> {
    const [row] = await queryRows<LinkView>(
      deps.db,
      sql`select l.user_id, l.incident_id, l.contact_id, l.expires_at, l.response, c.name as contact_name,
            c.share_location, u.display_name, u.deletion_requested_at is not null as deleting, i.status, i.silent_escalation, i.triggered_at, i.latitude,
            i.longitude, i.accuracy_meters, i.located_at,
            (i.device_context->>'utcOffsetMinutes')::int as utc_offset_minutes
          from alert_links l
          join emergency_incidents i on i.id = l.incident_id
          join emergency_contacts c on c.id = l.contact_id
          join users u on u.id = l.user_id
          where l.token = ${token}`,
    );
    return row ?? null;
  }

  /** The incident's evidence as links for this visit, or [] when the user does not share it. */
  async function evidenceLinks(view: LinkView): Promise<string[]> {
    const sign = deps.signEvidenceUrl;
    if (sign == null) return [];
    const files = await queryRows<EvidenceView>(
      deps.db,
      sql`select m.bucket, m.object_path, m.content_type, m.size_bytes, m.captured_at, m.duration_ms
          from media_files m
          join user_settings s on s.user_id = m.user_id and s.share_media_with_contacts
          where m.user_id = ${view.user_id} and m.incident_id = ${view.incident_id}
            and m.upload_state = 'verified' and m.deleted_at is null
          order by m.captured_at, m.id`,
    );
    const secondsLeft = Math.floor((ms(view.expires_at) - deps.now().getTime()) / 1000);
    const expiresIn = Math.min(MAX_EVIDENCE_LINK_SECONDS, secondsLeft);
    if (expiresIn < 1) return [];
    return Promise.all(
      files.map(async (file) => {
        const url = await sign({ bucket: file.bucket, path: file.object_path }, expiresIn);
        return `<li><a href="${escapeHtml(url)}">${escapeHtml(describeEvidence(file, view.utc_offset_minutes ?? 0))}</a></li>`;
      }),
    );
  }

  async function gone(reply: FastifyReply, token: string | null) {
    // The link of a deleted account (SPEC DR8): only the token's hash is kept, to tell the contact so.
    const deleted =
      token !== null &&
      (
        await queryRows(
          deps.db,
          sql`select 1 from gone_alert_links
              where token_sha256 = ${createHash('sha256').update(token).digest()}
              union all select 1 from alert_links l join users u on u.id = l.user_id
              where l.token = ${token} and u.deletion_requested_at is not null`,
        )
      ).length > 0;
    if (deleted) {
      return page(
        reply,
        410,
        'Alert deleted',
        '<p>The person who sent this alert has deleted their VitalWatch account, and with it this alert. There is nothing more to see here.</p>',
      );
    }
    return page(reply, 404, 'Alert link not found', '<p>This link is wrong or has expired.</p>');
  }

  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 1024 });

    scope.get<{ Params: { token: string } }>('/a/:token', async (request, reply) => {
      const token = AlertLinkToken.safeParse(request.params.token);
      const view = token.success ? await load(token.data) : null;
      if (view === null || view.deleting || !isLinkLive(view, deps.now()))
        return gone(reply, token.success ? token.data : null);
      const name = view.display_name ?? 'A VitalWatch user';
      // A duress cancel must look like an open alert here too: the contacts are the ones who must act.
      const status = view.silent_escalation ? 'active' : view.status;
      const open = status === 'active' || status === 'acknowledged';
      const parts = [
        `<p><strong>${escapeHtml(STATUS_TEXT[status] ?? status)}</strong></p>`,
        `<p>SOS sent ${smsTime(ms(view.triggered_at), view.utc_offset_minutes ?? 0)}.</p>`,
      ];
      if (view.share_location && view.latitude !== null && view.longitude !== null) {
        const coords = `${view.latitude.toFixed(5)},${view.longitude.toFixed(5)}`;
        const accuracy =
          view.accuracy_meters === null ? '' : ` (within ${Math.round(view.accuracy_meters)} m)`;
        const when =
          view.located_at === null ? '' : `, ${smsTime(ms(view.located_at), view.utc_offset_minutes ?? 0)}`;
        parts.push(
          `<p>Last location: <a href="https://maps.google.com/?q=${coords}">${coords}</a>${accuracy}${when}.</p>`,
        );
      } else {
        parts.push('<p>Location not shared.</p>');
      }
      const evidence = await evidenceLinks(view);
      if (evidence.length > 0) {
        parts.push(
          `<p>Recordings and photos ${escapeHtml(name)} shared with you (each link works for one hour; reload this page for new ones):</p>`,
          `<ul>${evidence.join('')}</ul>`,
        );
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
      parts.push(
        `<p>Use VitalWatch? <a href="/#/link/${token.data}">Get ${escapeHtml(name)}'s alerts in the app</a></p>`,
      );
      return page(reply, 200, `${name} sent an SOS`, parts.join(''));
    });

    scope.post<{ Params: { token: string } }>('/a/:token', async (request, reply) => {
      const token = AlertLinkToken.safeParse(request.params.token);
      const view = token.success ? await load(token.data) : null;
      if (view === null || view.deleting || !isLinkLive(view, deps.now()))
        return gone(reply, token.success ? token.data : null);
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
