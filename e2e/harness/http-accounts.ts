/**
 * People who act over HTTP as their devices would, beside the ones a test drives in Chromium: sign-up with a
 * display name, sync pushes (one device per account, sequenced per lane) and pulls decoded as the app decodes them.
 */
import { randomUUID } from 'node:crypto';
import { newId } from '../../schema/src/ids.ts';
import { formatHlc } from '../../schema/src/protocol/hlc.ts';
import type { MutatorArgs, MutatorName } from '../../schema/src/protocol/mutators.ts';
import { decodePullPage } from '../../schema/src/protocol/pull-page.ts';
import { PROTOCOL_VERSION } from '../../schema/src/protocol/protocol-version.ts';
import { PullResponse } from '../../schema/src/protocol/server-messages.ts';
import { contactAppLinkPath } from '../../schema/src/protocol/contact-app-links.ts';
import { TEST_PASSWORD } from './app-account.ts';
import type { E2EServer } from './e2e-server.ts';

export type HttpAccount = {
  email: string;
  token: string;
  /** Pushes one mutation as this account's one device; throws unless it is applied. */
  push<N extends MutatorName>(lane: 'user' | 'critical', name: N, args: MutatorArgs<N>): Promise<void>;
  /** Every row this account's device holds after a pull from nothing: table → id → row. */
  pullRows(): Promise<Map<string, Map<string, Record<string, unknown>>>>;
};

export async function api(
  serverUrl: string,
  path: string,
  init: { method: string; token?: string; body?: unknown },
): Promise<unknown> {
  const response = await fetch(`${serverUrl}${path}`, {
    method: init.method,
    headers: {
      'content-type': 'application/json',
      ...(init.token !== undefined && { authorization: `Bearer ${init.token}` }),
    },
    body: JSON.stringify(init.body),
  });
  if (!response.ok) throw new Error(`${init.method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json().catch(() => null)) as unknown;
}

function accessTokenOf(body: unknown): string {
  if (
    typeof body === 'object' &&
    body !== null &&
    'access_token' in body &&
    typeof body.access_token === 'string'
  )
    return body.access_token;
  throw new Error(`sign-in answered without an access token: ${JSON.stringify(body)}`);
}

/** An account made over HTTP with a display name. */
export async function accountNamed(serverUrl: string, name: string): Promise<HttpAccount> {
  const email = `${name.toLowerCase().replace(/\W+/g, '-')}-${randomUUID()}@example.org`;
  // Sign-up answers the user without a session (SE45); the session comes from signing in.
  await api(serverUrl, '/auth/v1/signup', { method: 'POST', body: { email, password: TEST_PASSWORD } });
  const token = accessTokenOf(
    await api(serverUrl, '/auth/v1/token?grant_type=password', {
      method: 'POST',
      body: { email, password: TEST_PASSWORD },
    }),
  );
  await api(serverUrl, '/api/v1/me', { method: 'PATCH', token, body: { display_name: name } });
  const clientId = newId<string>();
  const seqs = { user: 0, critical: 0 };
  return {
    email,
    token,
    async push(lane, name, args) {
      seqs[lane] += 1;
      const now = Date.now();
      const answer = await api(serverUrl, '/sync/push', {
        method: 'POST',
        token,
        body: {
          protocolVersion: PROTOCOL_VERSION,
          clientId,
          lane,
          sentAt: now,
          mutations: [
            { seq: seqs[lane], name, args, hlc: formatHlc({ ms: now, counter: 0 }, 'e2e'), createdAt: now },
          ],
        },
      });
      if (!JSON.stringify(answer).includes('"ok"')) throw new Error(`${name}: ${JSON.stringify(answer)}`);
    },
    async pullRows() {
      const rows = new Map<string, Map<string, Record<string, unknown>>>();
      let cursor = 0;
      for (let page = 0; page < 100; page++) {
        const wire = PullResponse.parse(
          await api(serverUrl, '/sync/pull', {
            method: 'POST',
            token,
            body: { protocolVersion: PROTOCOL_VERSION, clientId, cursor },
          }),
        );
        const decoded = decodePullPage(wire);
        for (const change of decoded.changes) {
          const table = rows.get(change.table) ?? new Map<string, Record<string, unknown>>();
          rows.set(change.table, table);
          if (change.op === 'put') table.set(String(change.row.id), change.row);
          else table.delete(change.id);
        }
        if (wire.complete) return rows;
        cursor = wire.cursor;
      }
      throw new Error('pull never completed');
    },
  };
}

/** Pushes an SOS (`incident.trigger@1`) as `account`'s device, with this code; returns the incident's id. */
export async function triggerSosOverHttp(account: HttpAccount, code: string): Promise<string> {
  const id = newId<string>();
  await account.push('critical', 'incident.trigger@1', {
    id,
    code,
    trigger: 'panic_button',
    triggeredAt: Date.now(),
  });
  return id;
}

/** Polls `read` every 100 ms until it gives a value (not a sleep: it returns as soon as there is one). */
export async function waitUntil<T>(
  what: string,
  read: () => Promise<T | undefined>,
  ms = 15_000,
): Promise<T> {
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/**
 * Makes `contact` (an account) the app user behind `owner`'s contact `contactId`, the way people do it: `owner`
 * sends an SOS (so the contact has an alert link), the contact links their account from it and `owner` approves;
 * the SOS is then resolved. Needs a server on Postgres with PUBLIC_URL set (alert links). Returns the contact's
 * user id.
 */
export async function linkAppContact(
  server: E2EServer,
  owner: HttpAccount,
  contact: HttpAccount,
  contactId: string,
): Promise<string> {
  const first = await triggerSosOverHttp(owner, 'K7Q2');
  const link = await waitUntil('the contact’s alert link', async () => {
    const [row] = await server.queryPostgres<{ token: string }>(
      'select token from alert_links where contact_id = $1',
      [contactId],
    );
    return row;
  });
  await api(server.url, `/api/v1/alert-links/${link.token}/link`, { method: 'POST', token: contact.token });
  const [contactUser] = await server.queryPostgres<{ id: string }>('select id from users where email = $1', [
    contact.email,
  ]);
  if (contactUser === undefined) throw new Error(`no user ${contact.email}`);
  await api(server.url, contactAppLinkPath(contactId, 'approve'), {
    method: 'POST',
    token: owner.token,
    body: { account: contactUser.id },
  });
  await owner.push('critical', 'incident.event@1', {
    id: newId<string>(),
    incidentId: first,
    type: 'resolved',
    at: Date.now(),
  });
  return contactUser.id;
}
