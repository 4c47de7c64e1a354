/**
 * Observed reach for a contact who uses the app (issue #14 item 1): the realtime event and the Web Push message
 * each carry a receipt token; the contact's device posts it once the alert is on screen, and only then is the
 * ledger row `shown`, which the user's device counts as observed reach. Web Push goes to a local push service
 * that checks VAPID and decrypts (web-push/test/push-endpoint.ts); the realtime event is read from a real
 * `GET /sync/events` stream.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { pushSubscriptions } from '@vitalwatch/schema/db/tables';
import { AlertPush } from '@vitalwatch/schema/protocol/alert-push';
import { ALERT_RECEIPTS_PATH, AlertReceiptAnswer } from '@vitalwatch/schema/protocol/alert-receipt';
import { isObservedReach } from '@vitalwatch/schema/protocol/alert-status';
import { AlertLogRow } from '@vitalwatch/schema/protocol/rows';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { queryRows } from '../db/query-rows.ts';
import type { Database } from '../db/database.ts';
import { UNTHROTTLED_HTTP_LIMITS } from '../../test/unthrottled-limits.ts';
import { applyPages, openEventStream, pullAll, type EventStream } from '../../test/sync-test-kit.ts';
import { contactAppLinkPath } from '@vitalwatch/schema/protocol/contact-app-links';
import { recordResults } from './record-results.ts';
import {
  addContact,
  incidentEvent,
  newDevice,
  startAlertServer,
  triggerSos,
  type AlertServer,
  type Device,
} from '../../test/alerts-test-kit.ts';
import { startTestPushService, type TestPushService } from '../../test/push-endpoint.ts';
import { loadVapidKeys, type VapidKeys } from './web-push/vapid-keys.ts';
import { createWebPushSender } from './web-push/web-push-sender.ts';

type AppRow = {
  id: string;
  channel: string;
  status: string;
  error_code: string | null;
  version: number | string;
  attempts: number;
  status_history: Array<{ status: string }>;
};

/** Ama, whose contact Kofi linked his own VitalWatch account (SPEC AL23), as the real routes do it. */
async function linkedContact(server: AlertServer, database: Database) {
  const ama = await newDevice(server, 'Ama');
  const contactId = await addContact(server, ama, { name: 'Kofi', phone: '+447700900123' });
  const first = await triggerSos(server, ama);
  await server.tick();
  const [link] = await queryRows<{ token: string }>(
    database.db,
    sql`select token from alert_links where contact_id = ${contactId}`,
  );
  const kofi = await newDevice(server, 'Kofi');
  const headers = (device: Device) => ({ authorization: `Bearer ${device.token}` });
  const asked = await server.app.inject({
    method: 'POST',
    url: `/api/v1/alert-links/${link!.token}/link`,
    headers: headers(kofi),
  });
  expect(asked.statusCode).toBe(200);
  const approved = await server.app.inject({
    method: 'POST',
    url: contactAppLinkPath(contactId, 'approve'),
    headers: headers(ama),
    payload: { account: kofi.userId },
  });
  expect(approved.statusCode).toBe(200);
  await incidentEvent(server, ama, first, { type: 'resolved' });
  await server.tick();
  return { ama, kofi, contactId };
}

function postReceipt(server: AlertServer, body: unknown) {
  return server.app.inject({ method: 'POST', url: ALERT_RECEIPTS_PATH, payload: body as object });
}

describeOnEachDatabase('receipts from the contact’s device', (database) => {
  let server: AlertServer;
  let pushService: TestPushService;
  let vapid: VapidKeys;
  let ama: Device;
  let kofi: Device;
  let contactId: string;

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
    ({ ama, kofi, contactId } = await linkedContact(server, database()));
    const browser = pushService.subscribe({ applicationServerKey: vapid.publicKey });
    await database().db.insert(pushSubscriptions).values({
      userId: kofi.userId,
      endpoint: browser.endpoint,
      p256dh: browser.keys.p256dh,
      auth: browser.keys.auth,
    });
  });
  afterAll(async () => {
    await server.close();
    await pushService.close();
  });
  beforeEach(() => {
    pushService.received.length = 0;
  });

  async function appRows(incidentId: string): Promise<Map<string, AppRow>> {
    const rows = await queryRows<AppRow & { contact_id: string }>(
      database().db,
      sql`select id, channel, status, error_code, version, attempts, status_history, contact_id from alert_logs
          where incident_id = ${incidentId} and message_kind = 'alert' and channel in ('web_push', 'realtime')`,
    );
    return new Map(rows.filter((r) => r.contact_id === contactId).map((r) => [r.channel, r]));
  }

  /** The ledger row as Ama's device pulls it, parsed with the wire's own row shape. */
  async function pulledRow(id: string) {
    const row = applyPages(await pullAll(server.app, ama, 0))
      .get('alert_logs')
      ?.get(id);
    return z.parse(AlertLogRow, row);
  }

  /** An SOS with Kofi's app open: the realtime event his app got. */
  async function sosWithOpenApp(): Promise<{ incidentId: string; event: z.infer<typeof AlertPush> }> {
    const stream: EventStream<z.infer<typeof AlertPush>> = await openEventStream(
      server.url,
      kofi.token,
      'alert',
      (data) => z.parse(AlertPush, data),
    );
    try {
      const incidentId = await triggerSos(server, ama, { code: 'B8K2' });
      await server.tick();
      return { incidentId, event: await stream.next() };
    } finally {
      stream.close();
    }
  }

  async function endSos(incidentId: string) {
    await incidentEvent(server, ama, incidentId, { type: 'resolved' });
    await server.tick();
  }

  it('[AL32][AL30][AL5] realtime: a write to the open stream is `sent`, not observed; the app’s receipt makes it `shown`, observed, on the user’s device, and the all-clear follows it', async () => {
    const { incidentId, event } = await sosWithOpenApp();
    expect(event).toMatchObject({ kind: 'alert', incidentId, receipt: expect.any(String) });
    const before = (await appRows(incidentId)).get('realtime')!;
    expect(before.status).toBe('sent');
    const pulledBefore = await pulledRow(before.id);
    expect(pulledBefore.status).toBe('sent');
    expect(isObservedReach(pulledBefore)).toBe(false);

    const answer = await postReceipt(server, { incidentId, receipt: event.receipt });
    expect(answer.statusCode).toBe(200);
    expect(z.parse(AlertReceiptAnswer, answer.json())).toEqual({ status: 'shown', already: false });
    const after = (await appRows(incidentId)).get('realtime')!;
    expect(after.status).toBe('shown');
    expect(Number(after.version)).toBeGreaterThan(Number(before.version));
    expect(after.status_history.map((h) => h.status)).toEqual(['pending', 'sent', 'shown']);
    const pulledAfter = await pulledRow(after.id);
    expect(pulledAfter.status).toBe('shown');
    expect(isObservedReach(pulledAfter)).toBe(true);

    // Safe again: the app that showed the alert gets the all-clear too (AL5).
    await endSos(incidentId);
    const [allClear] = await queryRows<{ status: string }>(
      database().db,
      sql`select status from alert_logs where incident_id = ${incidentId} and channel = 'realtime'
            and message_kind = 'all_clear' and contact_id = ${contactId}`,
    );
    expect(allClear?.status).toEqual(expect.any(String));
  });

  it('[AL31] the same receipt again is accepted as `already` and changes nothing (no new version)', async () => {
    const { incidentId, event } = await sosWithOpenApp();
    expect((await postReceipt(server, { incidentId, receipt: event.receipt })).json()).toEqual({
      status: 'shown',
      already: false,
    });
    const once = (await appRows(incidentId)).get('realtime')!;
    for (let i = 0; i < 2; i++) {
      const again = await postReceipt(server, { incidentId, receipt: event.receipt });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ status: 'shown', already: true });
    }
    expect((await appRows(incidentId)).get('realtime')).toEqual(once);
    await endSos(incidentId);
  });

  it('[AL31] a wrong secret, another incident’s receipt, an SMS row and a made-up row are the same 404 and change nothing; a malformed body is a 400 naming the field', async () => {
    const first = await sosWithOpenApp();
    await endSos(first.incidentId);
    const second = await sosWithOpenApp();
    const rows = await appRows(second.incidentId);
    const [rowId, secret] = second.event.receipt!.split('.') as [string, string];
    const wrongSecret = `${rowId}.${secret.startsWith('A') ? 'B' : 'A'}${secret.slice(1)}`;
    const [sms] = await queryRows<{ id: string }>(
      database().db,
      sql`select id from alert_logs where incident_id = ${second.incidentId} and channel = 'sms' limit 1`,
    );
    const refused = [
      { incidentId: second.incidentId, receipt: wrongSecret },
      // Incident 1's own, valid receipt, presented for incident 2; and for incident 1 once it has a newer one.
      { incidentId: second.incidentId, receipt: first.event.receipt },
      { incidentId: second.incidentId, receipt: `${sms!.id}.${secret}` },
      { incidentId: second.incidentId, receipt: `${second.incidentId}.${secret}` },
    ];
    for (const body of refused) {
      const answer = await postReceipt(server, body);
      expect(answer.statusCode, JSON.stringify(body)).toBe(404);
      expect(answer.json()).toMatchObject({ error_code: 'unknown_receipt' });
    }
    const malformed = await postReceipt(server, { incidentId: second.incidentId, receipt: 'nope' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ error_code: 'validation_failed' });
    expect(malformed.json().message).toContain('body.receipt');
    expect(await appRows(second.incidentId)).toEqual(rows);
    expect(rows.get('realtime')!.status).toBe('sent');
    await endSos(second.incidentId);
  });

  it('[AL31] Web Push: the decrypted message carries a receipt; posting it makes the row `shown` (the push service’s acceptance was only `sent`)', async () => {
    const incidentId = await triggerSos(server, ama, { code: 'C9D4' });
    await server.tick();
    const pushed = pushService.received.map((m) => z.parse(AlertPush, m.payload));
    const alert = pushed.find((p) => p.incidentId === incidentId && p.kind === 'alert');
    expect(alert?.receipt).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{22}$/);
    expect((await appRows(incidentId)).get('web_push')).toMatchObject({ status: 'sent' });
    // No open app: the realtime channel reached nobody, and says why.
    expect((await appRows(incidentId)).get('realtime')).toMatchObject({
      status: 'failed',
      error_code: 'no_open_app',
    });

    const answer = await postReceipt(server, { incidentId, receipt: alert!.receipt });
    expect(answer.json()).toEqual({ status: 'shown', already: false });
    const row = (await appRows(incidentId)).get('web_push')!;
    expect(row.status).toBe('shown');
    expect(isObservedReach(await pulledRow(row.id))).toBe(true);
    await endSos(incidentId);
  });

  it('[AL33] a provider answer recorded after the receipt leaves the row `shown`', async () => {
    const { incidentId, event } = await sosWithOpenApp();
    await postReceipt(server, { incidentId, receipt: event.receipt });
    const shown = (await appRows(incidentId)).get('realtime')!;
    // The answer to the claim that sent it, arriving late (the group commit waits to gather answers).
    await database().db.transaction((tx) =>
      recordResults(
        tx,
        [
          {
            row: {
              id: shown.id,
              user_id: ama.userId,
              incident_id: incidentId,
              channel: 'realtime',
              message_kind: 'alert',
              to_address: kofi.userId,
              body: '{}',
              attempts: shown.attempts,
              created_at: new Date(server.clock.ms),
              previous_lease: null,
            },
            result: { outcome: 'accepted', providerMessageId: 'late', status: 'sent' },
          },
        ],
        { at: new Date(server.clock.ms), maxAttempts: 8, retryDelayMs: () => 1_000 },
      ),
    );
    const after = (await appRows(incidentId)).get('realtime')!;
    expect(after.status).toBe('shown');
    expect(after.status_history).toEqual(shown.status_history);
    await endSos(incidentId);
  });
});

describeOnEachDatabase('receipts are rate-limited', (database) => {
  const LIMIT = 4;
  let server: AlertServer;

  beforeAll(async () => {
    server = await startAlertServer(database(), {
      limits: { ...UNTHROTTLED_HTTP_LIMITS, publicRequestsPerAddressPerMinute: LIMIT },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('[AL31] an address that posts too many receipts gets 429 with Retry-After, whatever the receipt', async () => {
    const body = {
      incidentId: '01939a4e-0000-7000-8000-000000000000',
      receipt: '01939a4e-0000-7000-8000-000000000001.AAAAAAAAAAAAAAAAAAAAAA',
    };
    for (let i = 0; i < LIMIT; i++) expect((await postReceipt(server, body)).statusCode).toBe(404);
    const limited = await postReceipt(server, body);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error_code: 'rate_limited' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});
