/**
 * A contact asks, from an alert link, to get the alerts in their own VitalWatch account (app-link-routes.ts); the
 * owner approves, declines or removes in their app (contact-app-link-routes.ts); and only an approved account gets
 * the alerts through the channels a contact who uses the app gets: Web Push, to a local push service that checks
 * VAPID and decrypts (sync-server/test/push-endpoint.ts), and the realtime event on `GET /sync/events`.
 */
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { pushSubscriptions } from '@vitalwatch/schema/db/tables';
import { newId } from '@vitalwatch/schema/ids';
import { AlertPush } from '@vitalwatch/schema/protocol/alert-push';
import {
  CONTACT_APP_LINKS_PATH,
  ContactAppLink,
  ContactAppLinks,
  contactAppLinkPath,
} from '@vitalwatch/schema/protocol/contact-app-links';
import { PullResponseV1 } from '@vitalwatch/schema/protocol/pull-response';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { queryRows } from '../db/query-rows.ts';
import { applyPages, openEventStream, post, pullAll, responseJson } from '../../test/sync-test-kit.ts';
import {
  DECLINE_HOLDS_DAYS,
  LINK_REQUESTS_PER_CONTACT_PER_WEEK,
  WAITING_REQUESTS_PER_ACCOUNT,
} from './app-link-routes.ts';
import {
  act,
  addContact,
  incidentEvent,
  ledger,
  newDevice,
  startAlertServer,
  triggerSos,
  type AlertServer,
  type Device,
} from '../../test/alerts-test-kit.ts';
import { startTestPushService, type TestPushService } from '../../test/push-endpoint.ts';
import { loadVapidKeys, type VapidKeys } from './web-push/vapid-keys.ts';
import { createWebPushSender } from './web-push/web-push-sender.ts';

const KOFI_PHONE = '+447700900123';
const DAY_MS = 24 * 3_600_000;

/** The contact-row fields a protocol-2 app knows (frozen: its strict row shape refuses any other key). */
const PROTOCOL_2_CONTACT_FIELDS = [
  'hlc',
  'id',
  'name',
  'notes',
  'notifyBySms',
  'phoneE164',
  'relationship',
  'shareLocation',
  'tier',
  'updatedAt',
  'version',
];

describeOnEachDatabase('linking a contact to their own VitalWatch account', (database) => {
  let server: AlertServer;
  let pushService: TestPushService;
  let vapid: VapidKeys;

  beforeAll(async () => {
    pushService = await startTestPushService();
    vapid = await loadVapidKeys({ env: {}, dataDir: null, publicUrl: 'https://vw.example.org' });
    server = await startAlertServer(database(), {
      alerts: {
        // Real time for VAPID: the push service checks the JWT's expiry against its own clock.
        webPush: createWebPushSender({ db: database().db, vapid, now: () => new Date() }),
        vapidPublicKey: vapid.publicKey,
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await pushService.close();
  });
  beforeEach(() => {
    pushService.received.length = 0;
  });

  /** Ama, whose contact Kofi was alerted by an SOS: the token of Kofi's alert link. */
  async function alertedContact() {
    const ama = await newDevice(server, 'Ama');
    const contactId = await addContact(server, ama, { name: 'Kofi', phone: KOFI_PHONE });
    const incidentId = await triggerSos(server, ama);
    await server.tick();
    return { ama, contactId, incidentId, token: await tokenOf(contactId) };
  }

  async function tokenOf(contactId: string): Promise<string> {
    const [link] = await queryRows<{ token: string }>(
      database().db,
      sql`select token from alert_links where contact_id = ${contactId} order by created_at desc limit 1`,
    );
    if (link === undefined) throw new Error('the SOS made no alert link');
    return link.token;
  }

  function callLink(method: 'GET' | 'POST' | 'DELETE', token: string, authorization: string | null) {
    return server.app.inject({
      method,
      url: `/api/v1/alert-links/${token}/link`,
      headers: authorization === null ? {} : { authorization },
    });
  }
  const as = (device: Device) => `Bearer ${device.token}`;

  /** The owner's side: the contacts screen's calls. */
  function answerAs(
    device: Device | null,
    decision: 'approve' | 'decline' | 'remove',
    contactId: string,
    body: unknown,
  ) {
    return server.app.inject({
      method: decision === 'remove' ? 'DELETE' : 'POST',
      url: contactAppLinkPath(contactId, decision === 'remove' ? undefined : decision),
      headers: device === null ? {} : { authorization: as(device) },
      payload: body as Record<string, unknown>,
    });
  }
  const approve = (owner: Device, contactId: string, account: Device) =>
    answerAs(owner, 'approve', contactId, { account: account.userId });

  async function appLinksOf(owner: Device) {
    const response = await server.app.inject({
      method: 'GET',
      url: CONTACT_APP_LINKS_PATH,
      headers: { authorization: as(owner) },
    });
    expect(response.statusCode).toBe(200);
    return z.parse(ContactAppLinks, response.json()).contacts;
  }

  /** The account as the owner sees it: its profile name and login. */
  async function accountOf(device: Device, name: string | null = null) {
    const [row] = await queryRows<{ email: string }>(
      database().db,
      sql`select email from users where id = ${device.userId}`,
    );
    return { id: device.userId, name, email: row?.email ?? null, phone: null };
  }

  /** The contact row as the owner's device has it after pulling everything. */
  async function pulledContact(owner: Device, contactId: string): Promise<Record<string, unknown>> {
    const rows = applyPages(await pullAll(server.app, owner, 0));
    const row = rows.get('emergency_contacts')?.get(contactId);
    if (row === undefined) throw new Error('the owner pulled no such contact');
    return row;
  }

  async function contactState(contactId: string) {
    const [row] = await queryRows<{
      contact_user_id: string | null;
      app_link_requested_by: string | null;
      version: number | string;
    }>(
      database().db,
      sql`select contact_user_id, app_link_requested_by, version from emergency_contacts where id = ${contactId}`,
    );
    return {
      linkedTo: row?.contact_user_id ?? null,
      requestedBy: row?.app_link_requested_by ?? null,
      version: Number(row?.version),
    };
  }

  async function auditOf(contactId: string) {
    return queryRows<{ action: string; actor_user_id: string | null; actor_kind: string; metadata: unknown }>(
      database().db,
      sql`select action, actor_user_id, actor_kind, metadata from activity_logs
          where target_table = 'emergency_contacts' and target_id = ${contactId} order by id`,
    );
  }

  /** A browser of `device`'s subscribed to Web Push, and its open app's realtime stream. */
  async function appOf(device: Device) {
    const browser = pushService.subscribe({ applicationServerKey: vapid.publicKey });
    await database().db.insert(pushSubscriptions).values({
      userId: device.userId,
      endpoint: browser.endpoint,
      p256dh: browser.keys.p256dh,
      auth: browser.keys.auth,
    });
    const stream = await openEventStream(server.url, device.token, 'alert', (data) =>
      z.parse(AlertPush, data),
    );
    return {
      pushes: () => pushService.received.filter((m) => m.endpoint === browser.endpoint).map((m) => m.payload),
      stream,
    };
  }

  /** The ledger rows of the app channels (Web Push, realtime) for one contact of an incident. */
  async function appAlerts(incidentId: string, contactId: string) {
    return (await ledger(database(), incidentId))
      .filter((r) => r.contact_id === contactId && r.channel !== 'sms')
      .map((r) => [r.channel, r.status, r.to_address]);
  }

  it('[AL22][AL23][SE10][SE14][AL26] the contact asks from the alert page, gets nothing until the owner approves, then the next alert reaches that account by Web Push and realtime; the owner pulls the contact as linked', async () => {
    const { ama, contactId, incidentId, token } = await alertedContact();
    const page = await server.app.inject({ method: 'GET', url: `/a/${token}` });
    expect(page.body).toContain(
      `<p>Use VitalWatch? <a href="/#/link/${token}">Get Ama's alerts in the app</a></p>`,
    );

    const kofi = await newDevice(server, 'Kofi Mensah');
    const kofiApp = await appOf(kofi);
    try {
      expect((await callLink('GET', token, as(kofi))).json()).toEqual({
        linked: false,
        pending: false,
        name: 'Ama',
      });
      const before = await contactState(contactId);
      const asked = await callLink('POST', token, as(kofi));
      expect(asked.statusCode).toBe(200);
      expect(asked.json()).toEqual({ linked: false, pending: true, name: 'Ama' });
      expect((await callLink('POST', token, as(kofi))).json()).toEqual({
        linked: false,
        pending: true,
        name: 'Ama',
      });
      expect((await callLink('GET', token, as(kofi))).json()).toEqual({
        linked: false,
        pending: true,
        name: 'Ama',
      });
      // A request changes nothing the owner's devices pull.
      expect(await contactState(contactId)).toEqual({ ...before, requestedBy: kofi.userId });
      expect(await pulledContact(ama, contactId)).toMatchObject({
        appLinked: false,
        version: before.version,
      });

      // The owner sees who asks: the name Kofi gave his account and his login.
      const kofiAccount = await accountOf(kofi, 'Kofi Mensah');
      const [listed] = await appLinksOf(ama);
      expect(listed).toEqual({
        contactId,
        linked: null,
        request: { account: kofiAccount, requestedAt: server.clock.ms },
      });

      const approved = await approve(ama, contactId, kofi);
      expect(approved.statusCode).toBe(200);
      expect(z.parse(ContactAppLink, approved.json())).toEqual({
        contactId,
        linked: kofiAccount,
        request: null,
      });
      expect(await appLinksOf(ama)).toEqual([{ contactId, linked: kofiAccount, request: null }]);
      expect((await callLink('GET', token, as(kofi))).json()).toEqual({
        linked: true,
        pending: false,
        name: 'Ama',
      });
      const after = await contactState(contactId);
      expect(after).toMatchObject({ linkedTo: kofi.userId, requestedBy: null });
      expect(after.version).toBeGreaterThan(before.version);
      expect(await pulledContact(ama, contactId)).toMatchObject({ appLinked: true, version: after.version });
      expect(await auditOf(contactId)).toEqual([
        {
          action: 'contact.app_link_request',
          actor_user_id: kofi.userId,
          actor_kind: 'contact',
          metadata: { account: kofi.userId, incidentId },
        },
        {
          action: 'contact.app_link_approve',
          actor_user_id: ama.userId,
          actor_kind: 'user',
          metadata: { account: kofi.userId, replaced: null },
        },
      ]);

      await incidentEvent(server, ama, incidentId, { type: 'resolved' });
      await server.tick();
      const next = await triggerSos(server, ama, { code: 'B8K2' });
      await server.tick();

      expect(kofiApp.pushes()).toEqual([
        expect.objectContaining({ kind: 'alert', incidentId: next, title: expect.stringContaining('Ama') }),
      ]);
      expect(await kofiApp.stream.next()).toMatchObject({ kind: 'alert', incidentId: next });
      expect(await appAlerts(next, contactId)).toEqual(
        expect.arrayContaining([
          ['web_push', 'sent', kofi.userId],
          ['realtime', 'sent', kofi.userId],
        ]),
      );
    } finally {
      kofiApp.stream.close();
    }
  });

  it('[SE10] an account waiting for approval gets no alert: the dispatcher sends it neither Web Push nor realtime, through an open incident and a new one', async () => {
    const { ama, contactId, incidentId, token } = await alertedContact();
    const kofi = await newDevice(server);
    const kofiApp = await appOf(kofi);
    try {
      expect((await callLink('POST', token, as(kofi))).json()).toMatchObject({ pending: true });
      await server.tick();
      const next = await triggerSos(server, ama, { code: 'C9M4' });
      await server.tick();
      server.clock.ms += 10 * 60_000; // past every escalation
      await server.tick();

      expect(await appAlerts(incidentId, contactId)).toEqual([]);
      expect(await appAlerts(next, contactId)).toEqual([]);
      expect(kofiApp.pushes()).toEqual([]);
      // The SMS still goes to the number the owner typed in.
      expect(
        (await ledger(database(), next)).filter((r) => r.contact_id === contactId).map((r) => r.channel),
      ).toContain('sms');
    } finally {
      kofiApp.stream.close();
    }
  });

  it('[SE10][SE11] the old attack fails: a second account calling /link with the token does not replace the linked account and gets no alert; a third is refused while it waits', async () => {
    const { ama, contactId, token } = await alertedContact();
    const kofi = await newDevice(server, 'Kofi');
    const mallory = await newDevice(server, 'Kofi'); // any name: the owner also sees the login
    const trudy = await newDevice(server);
    await callLink('POST', token, as(kofi));
    await approve(ama, contactId, kofi);
    const linked = await contactState(contactId);

    const malloryApp = await appOf(mallory);
    try {
      const attack = await callLink('POST', token, as(mallory));
      expect(attack.statusCode).toBe(200);
      expect(attack.json()).toEqual({ linked: false, pending: true, name: 'Ama' });
      expect(await contactState(contactId)).toEqual({ ...linked, requestedBy: mallory.userId });
      expect((await callLink('GET', token, as(kofi))).json()).toMatchObject({ linked: true });
      expect(await pulledContact(ama, contactId)).toMatchObject({ appLinked: true, version: linked.version });

      const third = await callLink('POST', token, as(trudy));
      expect(third.statusCode).toBe(409);
      expect(third.json()).toEqual({
        error_code: 'link_request_waiting',
        message:
          'Ama has not yet answered another request for these alerts. Ask them to open Contacts in their ' +
          'VitalWatch app and answer it, then try again.',
      });
      expect(await contactState(contactId)).toEqual({ ...linked, requestedBy: mallory.userId });

      const next = await triggerSos(server, ama, { code: 'D2P7' });
      await server.tick();
      expect(malloryApp.pushes()).toEqual([]);
      const appRows = await appAlerts(next, contactId);
      expect(appRows).toEqual(
        expect.arrayContaining([
          ['web_push', expect.any(String), kofi.userId],
          ['realtime', expect.any(String), kofi.userId],
        ]),
      );
      expect(appRows.filter((row) => row[2] === mallory.userId)).toEqual([]);

      // The owner sees both: who gets the alerts, and who asks (with the login that tells the two Kofis apart).
      expect(await appLinksOf(ama)).toEqual([
        {
          contactId,
          linked: await accountOf(kofi, 'Kofi'),
          request: { account: await accountOf(mallory, 'Kofi'), requestedAt: expect.any(Number) },
        },
      ]);
    } finally {
      malloryApp.stream.close();
    }
  });

  it('[SE14] the owner declines a request, approves another that replaces the linked account, and removes a link; each names the account it is about', async () => {
    const { ama, contactId, incidentId, token } = await alertedContact();
    const kofi = await newDevice(server, 'Kofi');
    const efua = await newDevice(server, 'Efua');
    await callLink('POST', token, as(kofi));
    await approve(ama, contactId, kofi);

    // Decline: the request goes, the linked account stays, nothing the devices pull changes.
    await callLink('POST', token, as(efua));
    const beforeDecline = await contactState(contactId);
    const declined = await answerAs(ama, 'decline', contactId, { account: efua.userId });
    expect(declined.statusCode).toBe(200);
    expect(declined.json()).toEqual({ contactId, linked: await accountOf(kofi, 'Kofi'), request: null });
    expect(await contactState(contactId)).toEqual({ ...beforeDecline, requestedBy: null });
    expect((await callLink('GET', token, as(efua))).json()).toEqual({
      linked: false,
      pending: false,
      name: 'Ama',
    });

    // Approve replaces: a third account asks, the owner approves it over Kofi.
    const yaw = await newDevice(server, 'Yaw');
    await callLink('POST', token, as(yaw));
    // An answer about an account that does not wait (Efua, declined) is refused and changes nothing.
    const stale = await answerAs(ama, 'approve', contactId, { account: efua.userId });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ error_code: 'app_link_changed' });
    expect(await contactState(contactId)).toMatchObject({ linkedTo: kofi.userId, requestedBy: yaw.userId });

    expect((await approve(ama, contactId, yaw)).statusCode).toBe(200);
    expect(await contactState(contactId)).toMatchObject({ linkedTo: yaw.userId, requestedBy: null });
    expect((await callLink('GET', token, as(kofi))).json()).toMatchObject({ linked: false });

    // Remove: only the account that gets the alerts can be removed.
    const wrong = await answerAs(ama, 'remove', contactId, { account: kofi.userId });
    expect(wrong.statusCode).toBe(409);
    const beforeRemove = await contactState(contactId);
    const removed = await answerAs(ama, 'remove', contactId, { account: yaw.userId });
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toEqual({ contactId, linked: null, request: null });
    const afterRemove = await contactState(contactId);
    expect(afterRemove).toMatchObject({ linkedTo: null, requestedBy: null });
    expect(afterRemove.version).toBeGreaterThan(beforeRemove.version);
    expect(await pulledContact(ama, contactId)).toMatchObject({
      appLinked: false,
      version: afterRemove.version,
    });
    expect(await appLinksOf(ama)).toEqual([]);

    expect((await auditOf(contactId)).map((row) => [row.action, row.actor_user_id, row.metadata])).toEqual([
      ['contact.app_link_request', kofi.userId, { account: kofi.userId, incidentId }],
      ['contact.app_link_approve', ama.userId, { account: kofi.userId, replaced: null }],
      ['contact.app_link_request', efua.userId, { account: efua.userId, incidentId }],
      ['contact.app_link_decline', ama.userId, { account: efua.userId }],
      ['contact.app_link_request', yaw.userId, { account: yaw.userId, incidentId }],
      ['contact.app_link_approve', ama.userId, { account: yaw.userId, replaced: kofi.userId }],
      ['contact.app_link_remove', ama.userId, { account: yaw.userId }],
    ]);
  });

  it('[SE14] approving while an incident is open wakes the dispatcher: the approved account gets that alert too', async () => {
    const { ama, contactId, incidentId, token } = await alertedContact();
    const kofi = await newDevice(server);
    const kofiApp = await appOf(kofi);
    try {
      await callLink('POST', token, as(kofi));
      await server.tick();
      expect(kofiApp.pushes()).toEqual([]);
      await approve(ama, contactId, kofi);
      await server.tick();
      expect(kofiApp.pushes()).toEqual([expect.objectContaining({ kind: 'alert', incidentId })]);
    } finally {
      kofiApp.stream.close();
    }
  });

  it("[SE15] no account answers for another: the requester (or anyone) cannot approve, decline or remove on the owner's contact, nor list it; bad input 400, no sign-in 401; nothing is written", async () => {
    const { ama, contactId, token } = await alertedContact();
    const kofi = await newDevice(server);
    const mallory = await newDevice(server);
    await callLink('POST', token, as(mallory));
    const before = await contactState(contactId);
    const auditBefore = await auditOf(contactId);

    for (const [who, decision, account] of [
      [mallory, 'approve', mallory],
      [mallory, 'decline', mallory],
      [kofi, 'approve', mallory],
      [mallory, 'remove', mallory],
    ] as const) {
      const refused = await answerAs(who, decision, contactId, { account: account.userId });
      expect(refused.statusCode, `${decision}`).toBe(404);
      expect(refused.json()).toMatchObject({ error_code: 'contact_not_found' });
    }
    expect(await appLinksOf(mallory)).toEqual([]);
    expect(await appLinksOf(kofi)).toEqual([]);

    const noSignIn = await answerAs(null, 'approve', contactId, { account: mallory.userId });
    expect(noSignIn.statusCode).toBe(401);
    expect((await server.app.inject({ method: 'GET', url: CONTACT_APP_LINKS_PATH })).statusCode).toBe(401);

    const badId = await answerAs(ama, 'approve', 'not-a-contact', { account: mallory.userId });
    expect(badId.statusCode).toBe(400);
    expect(badId.json()).toMatchObject({
      error_code: 'validation_failed',
      message: expect.stringContaining('params.contactId'),
    });
    const noAccount = await answerAs(ama, 'approve', contactId, {});
    expect(noAccount.statusCode).toBe(400);
    expect(noAccount.json()).toMatchObject({ message: expect.stringContaining('body.account') });
    const extra = await answerAs(ama, 'approve', contactId, {
      account: mallory.userId,
      linkedTo: ama.userId,
    });
    expect(extra.statusCode).toBe(400);
    const unknown = await answerAs(ama, 'approve', newId(), { account: mallory.userId });
    expect(unknown.statusCode).toBe(404);

    expect(await contactState(contactId)).toEqual(before);
    expect(await auditOf(contactId)).toEqual(auditBefore);

    // The requester learns nothing about the owner's side beyond the alert page: whose alerts, and its own state.
    expect(Object.keys((await callLink('GET', token, as(mallory))).json()).sort()).toEqual([
      'linked',
      'name',
      'pending',
    ]);
  });

  it("[AL24] no sign-in 401, a malformed token 400, an unknown or expired link or a removed contact 404, the owner's own link 409; nothing is written", async () => {
    const { ama, contactId, token } = await alertedContact();
    const kofi = await newDevice(server);
    const before = await contactState(contactId);

    const noToken = await callLink('POST', token, null);
    expect(noToken.statusCode).toBe(401);
    expect(noToken.json()).toMatchObject({ error_code: expect.any(String), message: expect.any(String) });
    expect((await callLink('POST', token, 'Bearer not-a-jwt')).statusCode).toBe(401);

    const malformed = await callLink('POST', 'short', as(kofi));
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toEqual({
      error_code: 'validation_failed',
      message: 'params.token: is not an alert link',
    });

    const unknown = await callLink('POST', 'AAAAAAAAAAAAAAAA', as(kofi));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error_code: 'not_found' });

    const own = await callLink('POST', token, as(ama));
    expect(own.statusCode).toBe(409);
    expect(own.json()).toMatchObject({ error_code: 'own_alert_link' });

    server.clock.ms += 8 * DAY_MS;
    try {
      const expired = await callLink('POST', token, as(kofi));
      expect(expired.statusCode).toBe(404);
      expect(expired.json()).toMatchObject({ error_code: 'not_found' });
      expect((await server.app.inject({ method: 'GET', url: `/a/${token}` })).body).not.toContain('#/link/');
    } finally {
      server.clock.ms -= 8 * DAY_MS;
    }

    expect(await contactState(contactId)).toEqual(before);
    expect(await auditOf(contactId)).toEqual([]);
    expect(await pulledContact(ama, contactId)).toMatchObject({ appLinked: false });

    await act(server, ama, 'user', 'contact.delete@1', { id: contactId, expectedPhoneE164: KOFI_PHONE });
    const removed = await callLink('POST', token, as(kofi));
    expect(removed.statusCode).toBe(404);
    expect(removed.json()).toMatchObject({ error_code: 'contact_removed' });
    expect(await contactState(contactId)).toMatchObject({ linkedTo: null, requestedBy: null });
  });

  it('[AL25] the asking account takes its request back, the linked account unlinks itself (also after the link expired); nobody else can', async () => {
    const { ama, contactId, token } = await alertedContact();
    const kofi = await newDevice(server);
    const efua = await newDevice(server);

    await callLink('POST', token, as(kofi));
    const stranger = await callLink('DELETE', token, as(efua));
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json()).toMatchObject({ error_code: 'not_linked' });
    const withdrawn = await callLink('DELETE', token, as(kofi));
    expect(withdrawn.statusCode).toBe(200);
    expect(withdrawn.json()).toEqual({ linked: false, pending: false, name: 'Ama' });
    expect(await contactState(contactId)).toMatchObject({ linkedTo: null, requestedBy: null });

    await callLink('POST', token, as(kofi));
    await approve(ama, contactId, kofi);
    expect((await callLink('DELETE', token, as(efua))).statusCode).toBe(404);
    const before = await contactState(contactId);
    const unlinked = await callLink('DELETE', token, as(kofi));
    expect(unlinked.statusCode).toBe(200);
    expect(unlinked.json()).toEqual({ linked: false, pending: false, name: 'Ama' });
    const after = await contactState(contactId);
    expect(after.linkedTo).toBeNull();
    expect(after.version).toBeGreaterThan(before.version);
    expect(await pulledContact(ama, contactId)).toMatchObject({ appLinked: false });
    expect((await callLink('DELETE', token, as(kofi))).json()).toMatchObject({ error_code: 'not_linked' });

    await callLink('POST', token, as(kofi));
    await approve(ama, contactId, kofi);
    server.clock.ms += 8 * DAY_MS;
    try {
      expect((await callLink('POST', token, as(efua))).statusCode).toBe(404);
      expect((await callLink('DELETE', token, as(kofi))).statusCode).toBe(200);
    } finally {
      server.clock.ms -= 8 * DAY_MS;
    }
    expect((await contactState(contactId)).linkedTo).toBeNull();
    expect((await auditOf(contactId)).map((row) => row.action)).toEqual([
      'contact.app_link_request',
      'contact.app_link_withdraw',
      'contact.app_link_request',
      'contact.app_link_approve',
      'contact.app_unlink',
      'contact.app_link_request',
      'contact.app_link_approve',
      'contact.app_unlink',
    ]);
  });

  it(`[SE12] a declined account cannot ask again for ${DECLINE_HOLDS_DAYS} days, an account asks at most ${LINK_REQUESTS_PER_CONTACT_PER_WEEK} times a week per contact; refusals write nothing`, async () => {
    const { ama, contactId, token } = await alertedContact();
    const mallory = await newDevice(server);
    const startedAt = server.clock.ms;
    try {
      // Asking and taking it back over and over: the third request in a week is the last.
      for (let i = 0; i < LINK_REQUESTS_PER_CONTACT_PER_WEEK; i++) {
        expect((await callLink('POST', token, as(mallory))).json()).toMatchObject({ pending: true });
        expect((await callLink('DELETE', token, as(mallory))).statusCode).toBe(200);
        server.clock.ms += 60_000;
      }
      const auditBefore = await auditOf(contactId);
      const tooMany = await callLink('POST', token, as(mallory));
      expect(tooMany.statusCode).toBe(429);
      expect(tooMany.json()).toEqual({
        error_code: 'too_many_link_requests',
        message: 'This account asked for these alerts 3 times this week. Try again in 7 days.',
      });
      expect(await contactState(contactId)).toMatchObject({ requestedBy: null });
      expect(await auditOf(contactId)).toEqual(auditBefore);

      // A week after the first request it may ask again; the owner declines.
      server.clock.ms = startedAt + 7 * DAY_MS + 1;
      const token2 = await freshToken(ama, contactId);
      expect((await callLink('POST', token2, as(mallory))).json()).toMatchObject({ pending: true });
      await answerAs(ama, 'decline', contactId, { account: mallory.userId });
      const declined = await callLink('POST', token2, as(mallory));
      expect(declined.statusCode).toBe(403);
      expect(declined.json()).toMatchObject({ error_code: 'link_request_declined' });
      expect(await contactState(contactId)).toMatchObject({ requestedBy: null });

      // The decline holds for other accounts' sake too: another account may still ask.
      const kofi = await newDevice(server);
      expect((await callLink('POST', token2, as(kofi))).json()).toMatchObject({ pending: true });
      await callLink('DELETE', token2, as(kofi));

      server.clock.ms += DECLINE_HOLDS_DAYS * DAY_MS + 1;
      const token3 = await freshToken(ama, contactId);
      expect((await callLink('POST', token3, as(mallory))).json()).toMatchObject({ pending: true });
    } finally {
      server.clock.ms = startedAt;
    }
  });

  let sosCount = 0;
  /** A new SOS from the owner, resolved at once: a live alert link after the clock moved on. */
  async function freshToken(owner: Device, contactId: string): Promise<string> {
    sosCount += 1;
    const incidentId = await triggerSos(server, owner, { code: `Z${String(sosCount).padStart(3, '0')}` });
    await server.tick();
    await incidentEvent(server, owner, incidentId, { type: 'resolved' });
    await server.tick();
    return tokenOf(contactId);
  }

  it(`[SE12] an account has at most ${WAITING_REQUESTS_PER_ACCOUNT} requests waiting, across everyone who lists it`, async () => {
    const ama = await newDevice(server, 'Ama');
    const contactIds: string[] = [];
    for (let i = 0; i <= WAITING_REQUESTS_PER_ACCOUNT; i++)
      contactIds.push(
        await addContact(server, ama, {
          name: `Kofi ${i}`,
          phone: `+4477009001${String(i).padStart(2, '0')}`,
        }),
      );
    await triggerSos(server, ama);
    await server.tick();
    const mallory = await newDevice(server);
    const tokens = await Promise.all(contactIds.map(tokenOf));
    for (const token of tokens.slice(0, WAITING_REQUESTS_PER_ACCOUNT))
      expect((await callLink('POST', token, as(mallory))).json()).toMatchObject({ pending: true });
    const last = tokens[WAITING_REQUESTS_PER_ACCOUNT]!;
    const refused = await callLink('POST', last, as(mallory));
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ error_code: 'too_many_waiting_requests' });
    expect(await contactState(contactIds[WAITING_REQUESTS_PER_ACCOUNT]!)).toMatchObject({
      requestedBy: null,
    });

    await answerAs(ama, 'decline', contactIds[0]!, { account: mallory.userId });
    expect((await callLink('POST', last, as(mallory))).json()).toMatchObject({ pending: true });
  });

  it('[AL27] a new phone number for the contact ends its link and its waiting request; another edit keeps them', async () => {
    const { ama, contactId, token } = await alertedContact();
    const kofi = await newDevice(server);
    const efua = await newDevice(server);
    await callLink('POST', token, as(kofi));
    await approve(ama, contactId, kofi);
    await callLink('POST', token, as(efua));

    server.clock.ms += 1_000;
    await act(server, ama, 'user', 'contact.upsert@1', { id: contactId, fields: { name: 'Kofi M.' } });
    expect(await contactState(contactId)).toMatchObject({ linkedTo: kofi.userId, requestedBy: efua.userId });

    await act(server, ama, 'user', 'contact.upsert@1', {
      id: contactId,
      fields: {},
      phoneE164: '+447700900456',
      expectedPhoneE164: KOFI_PHONE,
    });
    expect(await contactState(contactId)).toMatchObject({ linkedTo: null, requestedBy: null });
    expect(await pulledContact(ama, contactId)).toMatchObject({
      appLinked: false,
      phoneE164: '+447700900456',
    });
  });

  it('[AL26][PV2] protocol-1 and protocol-2 apps pull the linked contact without `appLinked`', async () => {
    const { ama, contactId, token } = await alertedContact();
    const kofi = await newDevice(server);
    await callLink('POST', token, as(kofi));
    await approve(ama, contactId, kofi);
    for (const protocolVersion of [1, 2]) {
      const response = await post(server.app, '/sync/pull', ama.token, {
        protocolVersion,
        clientId: newId(),
        cursor: 0,
      });
      expect(response.statusCode).toBe(200);
      const { changes } = z.parse(PullResponseV1, responseJson(response));
      const contact = changes.find((c) => c.op === 'put' && c.row.id === contactId);
      expect(
        Object.keys(contact?.op === 'put' ? contact.row : {}).sort(),
        `protocol ${protocolVersion}`,
      ).toEqual(PROTOCOL_2_CONTACT_FIELDS);
    }
  });

  it('[SE13] the migration turns every link made before approval into a request: the owner pulls the contact unlinked, the account gets no alert until approved', async () => {
    const { ama, contactId, token } = await alertedContact();
    const kofi = await newDevice(server);
    // A link as the old route made it: straight into contact_user_id.
    await database().db.execute(
      sql`update emergency_contacts set contact_user_id = ${kofi.userId} where id = ${contactId}`,
    );
    const pulledBefore = await pulledContact(ama, contactId);
    expect(pulledBefore).toMatchObject({ appLinked: true });
    const other = await alertedContact();
    const removedContact = await addContact(server, other.ama, { name: 'Gone', phone: '+447700900999' });
    await database().db.execute(
      sql`update emergency_contacts set contact_user_id = ${kofi.userId} where id = ${removedContact}`,
    );
    await act(server, other.ama, 'user', 'contact.delete@1', {
      id: removedContact,
      expectedPhoneE164: '+447700900999',
    });
    const untouched = await contactState(other.contactId);

    for (const statement of appLinkMigrationDataStatements()) await database().db.execute(sql.raw(statement));

    const after = await contactState(contactId);
    expect(after).toMatchObject({ linkedTo: null, requestedBy: kofi.userId });
    expect(after.version).toBeGreaterThan(Number(pulledBefore.version));
    expect(await pulledContact(ama, contactId)).toMatchObject({ appLinked: false, version: after.version });
    expect(await contactState(other.contactId)).toEqual(untouched);
    expect(await contactState(removedContact)).toMatchObject({ linkedTo: kofi.userId, requestedBy: null });
    expect(await auditOf(contactId)).toEqual([
      {
        action: 'contact.app_link_needs_approval',
        actor_user_id: null,
        actor_kind: 'system',
        metadata: { account: kofi.userId },
      },
    ]);
    expect((await callLink('GET', token, as(kofi))).json()).toEqual({
      linked: false,
      pending: true,
      name: 'Ama',
    });
    expect(await appLinksOf(ama)).toEqual([
      {
        contactId,
        linked: null,
        request: { account: await accountOf(kofi), requestedAt: expect.any(Number) },
      },
    ]);

    const next = await triggerSos(server, ama, { code: 'E5R8' });
    await server.tick();
    expect(await appAlerts(next, contactId)).toEqual([]);
    await approve(ama, contactId, kofi);
    await server.tick();
    expect((await appAlerts(next, contactId)).map((row) => row[2])).toEqual([kofi.userId, kofi.userId]);
  });
});

/** The hand-written data statements of the app-link migration (after its generated DDL), as the migrator runs them. */
function appLinkMigrationDataStatements(): string[] {
  const folder = new URL('../../../schema/drizzle/', import.meta.url);
  const file = fs.readdirSync(folder).find((name) => /^\d{4}_app_link_approval\.sql$/.test(name));
  if (file === undefined) throw new Error('no app_link_approval migration in schema/drizzle');
  return fs
    .readFileSync(new URL(file, folder), 'utf8')
    .split('--> statement-breakpoint')
    .map((statement) => statement.trim())
    .filter((statement) => !/^(ALTER|CREATE)\b/.test(statement));
}
