import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { queryRows } from '../db/query-rows.ts';
import type { Database } from '../db/database.ts';
import {
  act,
  addContact,
  newDevice,
  startAlertServer,
  type AlertServer,
  type Device,
} from '../../test/alerts-test-kit.ts';
import { TESTS_PER_HOUR } from './sos-test-routes.ts';

const MUM = '+447911123456';
const SISTER = '+447911123457';
const BROTHER = '+447911123458';
const TWILIO_NUMBER = '+15005550006';

type Outcome = {
  contact_id: string | null;
  name: string;
  to: string;
  status: string;
  error_code: string | null;
  reply: { body: string; at: string | null } | null;
};
type TestAnswer = { test_id: string; contacts: Outcome[] };

async function countRows(
  db: Database['db'],
  table: 'emergency_incidents' | 'alert_logs' | 'sos_test_messages',
  userId: string,
) {
  const [row] = await queryRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from ${sql.identifier(table)} where user_id = ${userId}`,
  );
  return row?.n ?? -1;
}

describeOnEachDatabase('"Test my SOS" through the server (Twilio API shape, injected clock)', (database) => {
  let server: AlertServer;
  beforeAll(async () => {
    server = await startAlertServer(database());
  });
  afterAll(() => server.close());

  async function startTest(device: Device) {
    return server.app.inject({
      method: 'POST',
      url: '/api/v1/sos-test',
      headers: { authorization: `Bearer ${device.token}` },
    });
  }
  async function readTest(device: Device, id: string): Promise<TestAnswer> {
    const response = await server.app.inject({
      method: 'GET',
      url: `/api/v1/sos-test/${id}`,
      headers: { authorization: `Bearer ${device.token}` },
    });
    expect(response.statusCode).toBe(200);
    return response.json<TestAnswer>();
  }

  /** Ama with Mum and her sister in tier 1 (the sister with texts off), and her brother in tier 2. */
  async function ama() {
    const device = await newDevice(server, 'Ama Mensah');
    const mum = await addContact(server, device, { name: 'Mum', phone: MUM, tier: 1 });
    const sister = await addContact(server, device, { name: 'Esi', phone: SISTER, tier: 1 });
    await act(server, device, 'user', 'contact.upsert@1', { id: sister, fields: { notifyBySms: false } });
    await addContact(server, device, { name: 'Kofi', phone: BROTHER, tier: 2 });
    return { device, mum };
  }

  it('[SO44] texts each tier-1 contact who gets texts a message marked TEST, creates no incident, no alert ledger and no escalation', async () => {
    const { device, mum } = await ama();
    const sentBefore = server.twilio.messages.length;
    const response = await startTest(device);
    expect(response.statusCode).toBe(201);
    const answer = response.json<TestAnswer>();
    expect(answer.contacts).toEqual([
      {
        contact_id: mum,
        name: 'Mum',
        to: MUM,
        status: 'queued',
        error_code: null,
        history: expect.any(Array),
        reply: null,
      },
    ]);
    const sent = server.twilio.messages.slice(sentBefore);
    expect(sent.map((m) => m.to)).toEqual([MUM]);
    expect(sent[0]!.body).toMatch(
      /^TEST from VitalWatch: Ama Mensah is testing their SOS alerts\. Nobody needs help\./,
    );
    expect(sent[0]!.body.length).toBeLessThanOrEqual(150);
    expect(await countRows(database().db, 'emergency_incidents', device.userId)).toBe(0);
    expect(await countRows(database().db, 'alert_logs', device.userId)).toBe(0);
    // Nothing is planned from a test: the dispatcher, minutes later, texts nobody.
    server.clock.ms += 6 * 60_000;
    await server.tick();
    expect(server.twilio.messages.length).toBe(sentBefore + 1);
    // Its own ledger: one row per contact texted.
    expect(await countRows(database().db, 'sos_test_messages', device.userId)).toBe(1);
  });

  it("[SO45] the carrier's statuses move each contact's outcome forward only; a failure keeps its error code", async () => {
    const { device } = await ama();
    const kofi = await newDevice(server, 'Kofi');
    await addContact(server, kofi, { name: 'Landline', phone: '+441632960001', tier: 1 });
    const first = (await startTest(device)).json<TestAnswer>();
    const toMum = server.twilio.messages.at(-1)!;
    const second = (await startTest(kofi)).json<TestAnswer>();
    const toLandline = server.twilio.messages.at(-1)!;
    expect([toMum.to, toLandline.to]).toEqual([MUM, '+441632960001']);
    await server.twilio.sendCallback(toMum.sid, 'delivered');
    await server.twilio.sendCallback(toMum.sid, 'sent'); // late and out of order: ignored
    await server.twilio.sendCallback(toLandline.sid, 'undelivered', { errorCode: 30006 });
    expect((await readTest(device, first.test_id)).contacts[0]).toMatchObject({ status: 'delivered' });
    expect((await readTest(kofi, second.test_id)).contacts[0]).toMatchObject({
      status: 'undelivered',
      error_code: '30006',
    });
    // One account never reads another's test.
    const other = await server.app.inject({
      method: 'GET',
      url: `/api/v1/sos-test/${first.test_id}`,
      headers: { authorization: `Bearer ${kofi.token}` },
    });
    expect(other.statusCode).toBe(404);
  });

  it("[SO46] the contact's reply is kept on their outcome and they are thanked; it acknowledges no incident", async () => {
    const device = await newDevice(server, 'Abena');
    await addContact(server, device, { name: 'Yaw', phone: '+447911123470', tier: 1 });
    const test = (await startTest(device)).json<TestAnswer>();
    const reply = await server.twilio.sendInbound(`${server.url}/webhooks/twilio/inbound`, {
      from: '+447911123470',
      to: TWILIO_NUMBER,
      body: 'OK got it',
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('Abena can see your reply to the test');
    const [outcome] = (await readTest(device, test.test_id)).contacts;
    expect(outcome?.reply).toEqual({ body: 'OK got it', at: expect.any(String) });
    expect(await countRows(database().db, 'alert_logs', device.userId)).toBe(0);
  });

  it(`[SO44] at most ${TESTS_PER_HOUR} tests an hour per account: the next gets 429 with Retry-After, then the hour passes`, async () => {
    const device = await newDevice(server, 'Efua');
    await addContact(server, device, { name: 'Mum', phone: '+447911123480', tier: 1 });
    for (let i = 0; i < TESTS_PER_HOUR; i++) {
      expect((await startTest(device)).statusCode).toBe(201);
      server.clock.ms += 60_000;
    }
    const sent = server.twilio.messages.length;
    const refused = await startTest(device);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json()).toMatchObject({ error_code: 'rate_limited' });
    expect(server.twilio.messages.length).toBe(sent);
    server.clock.ms += 60 * 60_000;
    expect((await startTest(device)).statusCode).toBe(201);
  });

  it('[SO44] without a first-tier contact who gets texts, nothing is sent and the answer says what to do', async () => {
    const device = await newDevice(server, 'Adjoa');
    await addContact(server, device, { name: 'Kofi', phone: '+447911123490', tier: 2 });
    const response = await startTest(device);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error_code: 'no_contacts',
      message: expect.stringMatching(/first-tier/),
    });
  });

  it('[SO42] /config.json says this server can send SMS, and which other channels it has', async () => {
    const config = await server.app.inject({ method: 'GET', url: '/config.json' });
    expect(config.json()).toMatchObject({ channels: { sms: true, webPush: false, realtime: true } });
  });
});

describeOnEachDatabase('"Test my SOS" on a server without SMS', (database) => {
  let server: AlertServer;
  beforeAll(async () => {
    server = await startAlertServer(database(), { sms: false });
  });
  afterAll(() => server.close());

  describe('the app is told to text from the phone', () => {
    it('[SO42] /config.json says no SMS, and [SO44] the test route answers 409 sms_not_configured', async () => {
      const config = await server.app.inject({ method: 'GET', url: '/config.json' });
      expect(config.json()).toMatchObject({ channels: { sms: false } });
      const device = await newDevice(server, 'Ama');
      await addContact(server, device, { name: 'Mum', phone: MUM, tier: 1 });
      const response = await server.app.inject({
        method: 'POST',
        url: '/api/v1/sos-test',
        headers: { authorization: `Bearer ${device.token}` },
      });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ error_code: 'sms_not_configured' });
      expect(server.twilio.messages).toHaveLength(0);
    });
  });
});
