/**
 * A contact links their own VitalWatch account from an alert link (app-link-routes.ts), and the next alert reaches
 * that account through the channels a contact who uses the app gets: Web Push, to a local push service that
 * checks VAPID and decrypts (web-push/test/push-endpoint.ts), and the realtime event on `GET /sync/events`.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { pushSubscriptions } from '@vitalwatch/schema/db/tables';
import { newId } from '@vitalwatch/schema/ids';
import { AlertPush } from '@vitalwatch/schema/protocol/alert-push';
import { PullResponseV1 } from '@vitalwatch/schema/protocol/pull-response';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { queryRows } from '../db/query-rows.ts';
import { applyPages, openEventStream, post, pullAll, responseJson } from '../sync/test/sync-test-kit.ts';
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
} from './test/alerts-test-kit.ts';
import { startTestPushService, type TestPushService } from './web-push/test/push-endpoint.ts';
import { loadVapidKeys, type VapidKeys } from './web-push/vapid-keys.ts';
import { createWebPushSender } from './web-push/web-push-sender.ts';

const KOFI_PHONE = '+447700900123';
const EIGHT_DAYS_MS = 8 * 24 * 3_600_000;

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
    const [link] = await queryRows<{ token: string }>(
      database().db,
      sql`select token from alert_links where contact_id = ${contactId}`,
    );
    if (link === undefined) throw new Error('the SOS made no alert link');
    return { ama, contactId, incidentId, token: link.token };
  }

  function callLink(method: 'GET' | 'POST' | 'DELETE', token: string, authorization: string | null) {
    return server.app.inject({
      method,
      url: `/api/v1/alert-links/${token}/link`,
      headers: authorization === null ? {} : { authorization },
    });
  }
  const as = (device: Device) => `Bearer ${device.token}`;

  /** The contact row as the owner's device has it after pulling everything. */
  async function pulledContact(owner: Device, contactId: string): Promise<Record<string, unknown>> {
    const rows = applyPages(await pullAll(server.app, owner, 0));
    const row = rows.get('emergency_contacts')?.get(contactId);
    if (row === undefined) throw new Error('the owner pulled no such contact');
    return row;
  }

  async function contactState(contactId: string) {
    const [row] = await queryRows<{ contact_user_id: string | null; version: number | string }>(
      database().db,
      sql`select contact_user_id, version from emergency_contacts where id = ${contactId}`,
    );
    return { linkedTo: row?.contact_user_id ?? null, version: Number(row?.version) };
  }

  async function auditOf(contactId: string) {
    return queryRows<{ action: string; actor_user_id: string; actor_kind: string; metadata: unknown }>(
      database().db,
      sql`select action, actor_user_id, actor_kind, metadata from activity_logs
          where target_table = 'emergency_contacts' and target_id = ${contactId} order by id`,
    );
  }

  it('[AL22][AL23][AL26] the contact opens the link, links their account, and the next alert reaches that account by Web Push and realtime; the owner pulls the contact as linked', async () => {
    const { ama, contactId, incidentId, token } = await alertedContact();
    const page = await server.app.inject({ method: 'GET', url: `/a/${token}` });
    expect(page.body).toContain(
      `<p>Use VitalWatch? <a href="/#/link/${token}">Get Ama's alerts in the app</a></p>`,
    );

    const kofi = await newDevice(server);
    const browser = pushService.subscribe({ applicationServerKey: vapid.publicKey });
    await database().db.insert(pushSubscriptions).values({
      userId: kofi.userId,
      endpoint: browser.endpoint,
      p256dh: browser.keys.p256dh,
      auth: browser.keys.auth,
    });
    const openApp = await openEventStream(server.url, kofi.token, 'alert', (data) =>
      z.parse(AlertPush, data),
    );
    try {
      expect((await callLink('GET', token, as(kofi))).json()).toEqual({ linked: false, name: 'Ama' });
      const before = await contactState(contactId);
      const linked = await callLink('POST', token, as(kofi));
      expect(linked.statusCode).toBe(200);
      expect(linked.json()).toEqual({ linked: true, name: 'Ama' });
      expect((await callLink('GET', token, as(kofi))).json()).toEqual({ linked: true, name: 'Ama' });

      const after = await contactState(contactId);
      expect(after.linkedTo).toBe(kofi.userId);
      expect(after.version).toBeGreaterThan(before.version);
      expect(await pulledContact(ama, contactId)).toMatchObject({ appLinked: true, version: after.version });
      expect(await auditOf(contactId)).toEqual([
        {
          action: 'contact.app_link',
          actor_user_id: kofi.userId,
          actor_kind: 'contact',
          metadata: { incidentId, replacedAnotherAccount: false },
        },
      ]);

      await incidentEvent(server, ama, incidentId, { type: 'resolved' });
      await server.tick();
      const next = await triggerSos(server, ama, { code: 'B8K2' });
      await server.tick();

      const pushed = pushService.received.filter((m) => m.endpoint === browser.endpoint);
      expect(pushed.map((m) => m.payload)).toEqual([
        expect.objectContaining({ kind: 'alert', incidentId: next, title: expect.stringContaining('Ama') }),
      ]);
      expect(await openApp.next()).toMatchObject({ kind: 'alert', incidentId: next });
      const appRows = (await ledger(database(), next)).filter(
        (r) => r.contact_id === contactId && r.channel !== 'sms',
      );
      expect(appRows.map((r) => [r.channel, r.status, r.to_address])).toEqual(
        expect.arrayContaining([
          ['web_push', 'sent', kofi.userId],
          ['realtime', 'delivered', kofi.userId],
        ]),
      );
    } finally {
      openApp.close();
    }
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

    server.clock.ms += EIGHT_DAYS_MS;
    try {
      const expired = await callLink('POST', token, as(kofi));
      expect(expired.statusCode).toBe(404);
      expect(expired.json()).toMatchObject({ error_code: 'not_found' });
      expect((await server.app.inject({ method: 'GET', url: `/a/${token}` })).body).not.toContain('#/link/');
    } finally {
      server.clock.ms -= EIGHT_DAYS_MS;
    }

    expect(await contactState(contactId)).toEqual(before);
    expect(await auditOf(contactId)).toEqual([]);
    expect(await pulledContact(ama, contactId)).toMatchObject({ appLinked: false });

    await act(server, ama, 'user', 'contact.delete@1', { id: contactId, expectedPhoneE164: KOFI_PHONE });
    const removed = await callLink('POST', token, as(kofi));
    expect(removed.statusCode).toBe(404);
    expect(removed.json()).toMatchObject({ error_code: 'contact_removed' });
    expect((await contactState(contactId)).linkedTo).toBeNull();
  });

  it('[AL23] linking again changes nothing; another account replaces the first (the newest holder of the link wins)', async () => {
    const { ama, contactId, incidentId, token } = await alertedContact();
    const kofi = await newDevice(server);
    const efua = await newDevice(server);

    expect((await callLink('POST', token, as(kofi))).statusCode).toBe(200);
    const first = await contactState(contactId);
    expect((await callLink('POST', token, as(kofi))).json()).toEqual({ linked: true, name: 'Ama' });
    expect(await contactState(contactId)).toEqual(first);

    expect((await callLink('POST', token, as(efua))).json()).toEqual({ linked: true, name: 'Ama' });
    const second = await contactState(contactId);
    expect(second.linkedTo).toBe(efua.userId);
    expect(second.version).toBeGreaterThan(first.version);
    expect((await callLink('GET', token, as(kofi))).json()).toEqual({ linked: false, name: 'Ama' });
    expect((await auditOf(contactId)).map((row) => [row.actor_user_id, row.metadata])).toEqual([
      [kofi.userId, { incidentId, replacedAnotherAccount: false }],
      [efua.userId, { incidentId, replacedAnotherAccount: true }],
    ]);
    expect(await pulledContact(ama, contactId)).toMatchObject({ appLinked: true });
  });

  it('[AL25] only the linked account unlinks itself, also after the link expired', async () => {
    const { ama, contactId, token } = await alertedContact();
    const kofi = await newDevice(server);
    const efua = await newDevice(server);
    await callLink('POST', token, as(kofi));

    const stranger = await callLink('DELETE', token, as(efua));
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json()).toMatchObject({ error_code: 'not_linked' });
    expect((await contactState(contactId)).linkedTo).toBe(kofi.userId);

    const unlinked = await callLink('DELETE', token, as(kofi));
    expect(unlinked.statusCode).toBe(200);
    expect(unlinked.json()).toEqual({ linked: false, name: 'Ama' });
    expect((await contactState(contactId)).linkedTo).toBeNull();
    expect(await pulledContact(ama, contactId)).toMatchObject({ appLinked: false });
    expect((await callLink('DELETE', token, as(kofi))).json()).toMatchObject({ error_code: 'not_linked' });
    expect((await auditOf(contactId)).map((row) => row.action)).toEqual([
      'contact.app_link',
      'contact.app_unlink',
    ]);

    await callLink('POST', token, as(kofi));
    server.clock.ms += EIGHT_DAYS_MS;
    try {
      expect((await callLink('POST', token, as(efua))).statusCode).toBe(404);
      expect((await callLink('DELETE', token, as(kofi))).statusCode).toBe(200);
    } finally {
      server.clock.ms -= EIGHT_DAYS_MS;
    }
    expect((await contactState(contactId)).linkedTo).toBeNull();
  });

  it('[AL27] a new phone number for the contact ends the link; another edit keeps it', async () => {
    const { ama, contactId, token } = await alertedContact();
    const kofi = await newDevice(server);
    await callLink('POST', token, as(kofi));

    server.clock.ms += 1_000;
    await act(server, ama, 'user', 'contact.upsert@1', { id: contactId, fields: { name: 'Kofi M.' } });
    expect((await contactState(contactId)).linkedTo).toBe(kofi.userId);

    await act(server, ama, 'user', 'contact.upsert@1', {
      id: contactId,
      fields: {},
      phoneE164: '+447700900456',
      expectedPhoneE164: KOFI_PHONE,
    });
    expect((await contactState(contactId)).linkedTo).toBeNull();
    expect(await pulledContact(ama, contactId)).toMatchObject({
      appLinked: false,
      phoneE164: '+447700900456',
    });
  });

  it('[AL26][PV2] protocol-1 and protocol-2 apps pull the linked contact without `appLinked`', async () => {
    const { ama, contactId, token } = await alertedContact();
    await callLink('POST', token, as(await newDevice(server)));
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
});
