import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { pullAll } from '../../test/sync-test-kit.ts';
import {
  addContact,
  incidentEvent,
  ledger,
  newDevice,
  startAlertServer,
  textsTo,
  triggerSos,
  type AlertServer,
  type Device,
} from '../../test/alerts-test-kit.ts';

const MUM = '+447911123456';
const BROTHER = '+447911123457';
const FRIEND = '+447911123458';

describeOnEachDatabase('alert delivery by SMS (Twilio API shape, injected clock)', (database) => {
  let server: AlertServer;
  beforeAll(async () => {
    server = await startAlertServer(database());
  });
  afterAll(() => server.close());

  async function userWithContacts(): Promise<{
    ama: Device;
    contacts: { mum: string; brother: string; friend: string };
  }> {
    const ama = await newDevice(server, 'Ama');
    const contacts = {
      mum: await addContact(server, ama, { name: 'Mum', phone: MUM, tier: 1 }),
      brother: await addContact(server, ama, { name: 'Kofi', phone: BROTHER, tier: 2 }),
      friend: await addContact(server, ama, { name: 'Efua', phone: FRIEND, tier: 3 }),
    };
    return { ama, contacts };
  }

  it('[AL1] texts tier 1 at once, once, with the code, the place, the time and a link; stores the first status', async () => {
    const { ama, contacts } = await userWithContacts();
    const before = server.twilio.messages.length;
    const incidentId = await triggerSos(server, ama);
    await server.tick();
    await server.tick();

    const texts = server.twilio.messages.slice(before);
    expect(texts.map((m) => m.to)).toEqual([MUM]);
    const body = texts[0]!.body;
    expect(body).toMatch(/^SOS from Ama: needs help! maps\.google\.com\/\?q=51\.50735,-0\.12776 acc 12m\./);
    expect(body).toMatch(/UTC \d+ \w{3}\. Reply OK A7F3 or http:\/\/127\.0\.0\.1:\d+\/a\/[\w-]{16}$/);

    const rows = await ledger(database(), incidentId);
    expect(rows).toMatchObject([
      { contact_id: contacts.mum, channel: 'sms', message_kind: 'alert', status: 'queued', to_address: MUM },
    ]);
    expect(rows[0]!.status_history.map((h) => h.status)).toEqual(['pending', 'queued']);

    // The ledger reaches the user's device by pull.
    const pages = await pullAll(server.app, ama, 0);
    const logs = pages.flatMap((p) => p.changes).filter((c) => c.table === 'alert_logs');
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ op: 'put', row: { status: 'queued', contactId: contacts.mum } });
  });

  it('[AL2] escalates to tier 2 after 2 min and to everyone after 5 min without an acknowledgement', async () => {
    const { ama } = await userWithContacts();
    const incidentId = await triggerSos(server, ama);
    await server.tick();
    expect(textsTo(server.twilio, BROTHER).filter((m) => m.body.includes('Ama'))).toHaveLength(0);

    server.clock.ms += 119_000;
    await server.tick();
    expect((await ledger(database(), incidentId)).map((r) => r.to_address)).toEqual([MUM]);

    server.clock.ms += 1_000;
    await server.tick();
    let rows = await ledger(database(), incidentId);
    expect(rows.map((r) => [r.to_address, r.message_kind])).toEqual([
      [MUM, 'alert'],
      [BROTHER, 'escalation'],
    ]);
    expect(rows[1]!.body).toMatch(/^SOS from Ama, nobody has answered yet: needs help!/);

    server.clock.ms += 180_000;
    await server.tick();
    await server.tick();
    rows = await ledger(database(), incidentId);
    expect(rows.map((r) => r.to_address)).toEqual([MUM, BROTHER, FRIEND]);
    // Nobody was texted twice, however often the dispatcher ran.
    for (const row of rows) expect(row.attempts).toBe(1);
  });

  it('[AL8] "OK <code>" from a contact acknowledges for them and stops the escalation', async () => {
    const { ama, contacts } = await userWithContacts();
    const incidentId = await triggerSos(server, ama, { code: 'K9PX' });
    await server.tick();

    const reply = await server.twilio.sendInbound(`${server.url}/webhooks/twilio/inbound`, {
      from: MUM,
      to: '+15005550006',
      body: 'ok k9px',
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('Ama can see that you are responding');

    server.clock.ms += 600_000;
    await server.tick();
    const rows = await ledger(database(), incidentId);
    expect(rows).toMatchObject([{ contact_id: contacts.mum, response: 'acknowledged' }]);
    const pages = await pullAll(server.app, ama, 0);
    const incident = pages
      .flatMap((p) => p.changes)
      .filter((c) => c.op === 'put' && c.table === 'emergency_incidents')
      .at(-1);
    expect(incident).toMatchObject({ row: { id: incidentId, status: 'acknowledged' } });
  });

  it('[AL10] applies signed callbacks out of order, duplicated and per segment; never moves backwards', async () => {
    const { ama } = await userWithContacts();
    const incidentId = await triggerSos(server, ama);
    await server.tick();
    const sid = textsTo(server.twilio, MUM).at(-1)!.sid;

    await server.twilio.sendCallback(sid, 'sent', { duplicate: 2, perSegment: true });
    await server.twilio.sendCallback(sid, 'delivered', { duplicate: true });
    // A late "sending" arrives after "delivered".
    const late = await server.twilio.sendCallback(sid, 'sending', {});
    expect(late.every((r) => r.status < 300)).toBe(true);

    const [row] = await ledger(database(), incidentId);
    expect(row!.status).toBe('delivered');
    expect(row!.status_history.map((h) => h.status)).toEqual([
      'pending',
      'queued',
      'sent',
      'delivered',
      'sending',
    ]);
  });

  it('[AL10] refuses unsigned or wrongly signed callbacks with 403 and changes nothing', async () => {
    const { ama } = await userWithContacts();
    const incidentId = await triggerSos(server, ama);
    await server.tick();
    const sid = textsTo(server.twilio, MUM).at(-1)!.sid;
    const before = await ledger(database(), incidentId);

    for (const signature of ['missing', 'wrong'] as const) {
      const responses = await server.twilio.sendCallback(sid, 'delivered', { signature });
      expect(responses.map((r) => r.status)).toEqual([403]);
    }
    const forged = await server.twilio.sendInbound(
      `${server.url}/webhooks/twilio/inbound`,
      { from: MUM, to: '+15005550006', body: 'OK A7F3' },
      { signature: 'wrong' },
    );
    expect(forged.status).toBe(403);
    expect(await ledger(database(), incidentId)).toEqual(before);
  });

  it('[AL11] 30003 (unreachable) is tried again later; 30006 (landline) never is', async () => {
    const { ama } = await userWithContacts();
    const incidentId = await triggerSos(server, ama);
    await server.tick();
    const first = textsTo(server.twilio, MUM).at(-1)!;
    await server.twilio.sendCallback(first.sid, 'undelivered', { errorCode: 30003 });
    let [row] = await ledger(database(), incidentId);
    expect(row).toMatchObject({ status: 'pending', error_code: '30003' });

    server.clock.ms += 5_000;
    await server.tick();
    [row] = await ledger(database(), incidentId);
    expect(row).toMatchObject({ status: 'queued', attempts: 2 });
    const second = textsTo(server.twilio, MUM).at(-1)!;
    expect(second.sid).not.toBe(first.sid);

    await server.twilio.sendCallback(second.sid, 'undelivered', { errorCode: 30006 });
    server.clock.ms += 600_000;
    await server.tick();
    [row] = await ledger(database(), incidentId);
    expect(row).toMatchObject({ status: 'undelivered', error_code: '30006', attempts: 2 });
  });

  it('[AL11] a transient API error is retried with backoff; a permanent one is not', async () => {
    const { ama } = await userWithContacts();
    server.twilio.failNext(1, { status: 503, code: 20500, message: 'Internal Server Error' });
    const incidentId = await triggerSos(server, ama);
    await server.tick();
    let [row] = await ledger(database(), incidentId);
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    server.clock.ms += 2_000;
    await server.tick();
    [row] = await ledger(database(), incidentId);
    expect(row).toMatchObject({ status: 'queued', attempts: 2 });
    expect(textsTo(server.twilio, MUM).filter((m) => m.body === row!.body)).toHaveLength(1);

    const { ama: kwame } = await userWithContacts();
    server.twilio.failNext(1, {
      status: 400,
      code: 21211,
      message: "The 'To' number is not a valid phone number.",
    });
    const second = await triggerSos(server, kwame);
    await server.tick();
    server.clock.ms += 600_000;
    await server.tick();
    const [failed] = await ledger(database(), second);
    expect(failed).toMatchObject({ status: 'failed', error_code: '21211', attempts: 1 });
  });

  it('[AL5] "I\'m safe" sends an all-clear to everyone who was reached and drops alerts never tried', async () => {
    const { ama } = await userWithContacts();
    const incidentId = await triggerSos(server, ama);
    await server.tick();
    server.clock.ms += 121_000;
    await server.tick();
    await incidentEvent(server, ama, incidentId, { type: 'resolved' });
    await server.tick();
    const rows = await ledger(database(), incidentId);
    expect(rows.map((r) => [r.to_address, r.message_kind, r.status]).sort()).toEqual([
      [MUM, 'alert', 'queued'],
      [MUM, 'all_clear', 'queued'],
      [BROTHER, 'all_clear', 'queued'],
      [BROTHER, 'escalation', 'queued'],
    ]);
    expect(rows.find((r) => r.message_kind === 'all_clear')!.body).toBe(
      'All clear from Ama: safe now. No need to act on alert A7F3.',
    );
    server.clock.ms += 600_000;
    await server.tick();
    expect(
      textsTo(server.twilio, FRIEND).filter(
        (m) => m.body.includes('A7F3') && m.dateCreated.getTime() >= server.clock.ms - 700_000,
      ),
    ).toHaveLength(0);
  });

  it('[AL6] a duress cancel keeps escalating, sends no all-clear, and the device sees none of it', async () => {
    const { ama } = await userWithContacts();
    const incidentId = await triggerSos(server, ama, { code: 'DU55' });
    await incidentEvent(server, ama, incidentId, { type: 'cancelled', duress: true });
    await server.tick();
    server.clock.ms += 300_000;
    await server.tick();
    const rows = await ledger(database(), incidentId);
    expect(rows.map((r) => r.to_address)).toEqual([MUM, BROTHER, FRIEND]);
    expect(rows.every((r) => r.message_kind !== 'all_clear')).toBe(true);
    expect(rows[0]!.body).toContain('The SOS was cancelled under duress: it is real.');

    const pages = await pullAll(server.app, ama, 0);
    const changes = pages.flatMap((p) => p.changes);
    expect(
      changes.filter((c) => c.table === 'alert_logs' && c.op === 'put' && c.row.incidentId === incidentId),
    ).toEqual([]);
    expect(changes.filter((c) => c.op === 'put' && c.table === 'emergency_incidents').at(-1)).toMatchObject({
      row: { status: 'cancelled' },
    });
  });

  it('[AL3] a contact the device already texted gets no second alert, but does get the all-clear', async () => {
    const { ama, contacts } = await userWithContacts();
    const incidentId = await triggerSos(server, ama, { triggeredAt: server.clock.ms - 3_600_000 });
    await incidentEvent(server, ama, incidentId, { type: 'sms_composer_opened', contactIds: [contacts.mum] });
    await incidentEvent(server, ama, incidentId, { type: 'sms_user_reported', sent: true });
    await server.tick();
    let rows = await ledger(database(), incidentId);
    expect(rows.map((r) => [r.channel, r.status])).toEqual([['device_sms', 'user_confirmed_sent']]);

    await incidentEvent(server, ama, incidentId, { type: 'resolved' });
    await server.tick();
    rows = await ledger(database(), incidentId);
    expect(rows.map((r) => [r.channel, r.message_kind, r.to_address]).sort()).toEqual([
      ['device_sms', 'alert', MUM],
      ['sms', 'all_clear', MUM],
    ]);
  });

  it('[SO2] each answer to "Did it send?" counts for the contact it names, not for the composer opened last', async () => {
    const { ama, contacts } = await userWithContacts();
    const incidentId = await triggerSos(server, ama, { triggeredAt: server.clock.ms - 3_600_000 });
    const opened = (id: string) =>
      incidentEvent(server, ama, incidentId, { type: 'sms_composer_opened', contactIds: [id] });
    await opened(contacts.mum);
    await opened(contacts.brother);
    await incidentEvent(server, ama, incidentId, {
      type: 'sms_user_reported',
      contactIds: [contacts.mum],
      sent: true,
    });
    await incidentEvent(server, ama, incidentId, {
      type: 'sms_user_reported',
      contactIds: [contacts.brother],
      sent: false,
    });
    await server.tick();
    const rows = await ledger(database(), incidentId);
    expect(
      rows
        .filter((r) => r.channel === 'device_sms')
        .map((r) => [r.to_address, r.status])
        .sort(),
    ).toEqual([
      [MUM, 'user_confirmed_sent'],
      [BROTHER, 'user_reported_not_sent'],
    ]);
  });

  it("[SO4] the SMS and the alert page show the phone's local time with its offset; older apps' incidents show UTC", async () => {
    const { ama } = await userWithContacts();
    const triggeredAt = Date.UTC(2026, 10, 24, 23, 58);
    const nairobi = await triggerSos(server, ama, { triggeredAt, code: 'TZ30', utcOffsetMinutes: 180 });
    const mumbai = await triggerSos(server, ama, { triggeredAt, code: 'TZ55', utcOffsetMinutes: 330 });
    await server.tick();
    const [east] = await ledger(database(), nairobi);
    expect(east!.body).toContain(' 02:58 UTC+3 25 Nov (sent while offline).');
    const [india] = await ledger(database(), mumbai);
    expect(india!.body).toContain(' 05:28 UTC+5:30 25 Nov (sent while offline).');
    const link = /(\/a\/[\w-]{16})$/.exec(east!.body!)![1]!;
    expect((await server.app.inject({ method: 'GET', url: link })).body).toContain(
      'SOS sent 02:58 UTC+3 25 Nov.',
    );
  });

  it('[AL7] location updates go to contacts who acknowledged, by SMS at most every 5 minutes', async () => {
    const { ama } = await userWithContacts();
    const incidentId = await triggerSos(server, ama, { code: 'LC77' });
    await server.tick();
    await server.twilio.sendInbound(`${server.url}/webhooks/twilio/inbound`, {
      from: MUM,
      to: '+15005550006',
      body: 'OK LC77',
    });
    const moveTo = async (lat: number) => {
      server.clock.ms += 60_000;
      await incidentEvent(server, ama, incidentId, {
        type: 'location',
        location: { lat, lng: -0.1, accuracyM: 8, at: server.clock.ms },
      });
      await server.tick();
    };
    await moveTo(51.6);
    await moveTo(51.7);
    let updates = (await ledger(database(), incidentId)).filter((r) => r.message_kind === 'location_update');
    expect(updates.map((r) => r.to_address)).toEqual([MUM]);
    expect(updates[0]!.body).toMatch(
      /^Ama \(alert LC77\) is now at maps\.google\.com\/\?q=51\.60000,-0\.10000 acc 8m\./,
    );

    server.clock.ms += 300_000;
    await server.tick();
    updates = (await ledger(database(), incidentId)).filter((r) => r.message_kind === 'location_update');
    expect(updates.map((r) => r.body!.slice(0, 60))).toEqual([
      expect.stringContaining('51.60000'),
      expect.stringContaining('51.70000'),
    ]);
  });

  it('[AL9] the /a/<token> page shows the incident to the contact and takes "I\'m on my way"', async () => {
    const { ama, contacts } = await userWithContacts();
    const incidentId = await triggerSos(server, ama, { code: 'PG42' });
    await server.tick();
    const link = /(\/a\/[\w-]{16})$/.exec(textsTo(server.twilio, MUM).at(-1)!.body)![1]!;

    const page = await server.app.inject({ method: 'GET', url: link });
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain('Ama sent an SOS');
    expect(page.body).toContain('Nobody has said they are on the way yet.');
    expect(page.body).toContain('51.50735,-0.12776');

    const answer = await server.app.inject({
      method: 'POST',
      url: link,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'response=on_my_way',
    });
    expect(answer.statusCode).toBe(303);
    const rows = await ledger(database(), incidentId);
    expect(rows).toMatchObject([{ contact_id: contacts.mum, response: 'on_my_way' }]);
    expect((await server.app.inject({ method: 'GET', url: link })).body).toContain("you're responding");

    const bad = await server.app.inject({
      method: 'POST',
      url: link,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'response=maybe',
    });
    expect(bad.statusCode).toBe(400);
    for (const url of ['/a/AAAAAAAAAAAAAAAA', '/a/short']) {
      expect((await server.app.inject({ method: 'GET', url })).statusCode).toBe(404);
    }
    server.clock.ms += 8 * 24 * 3_600_000;
    expect((await server.app.inject({ method: 'GET', url: link })).statusCode).toBe(404);
    server.clock.ms -= 8 * 24 * 3_600_000;
  });

  it('[AL4] an incident created offline is labelled with its original time', async () => {
    const { ama } = await userWithContacts();
    const triggeredAt = Date.UTC(2026, 10, 24, 23, 58);
    const incidentId = await triggerSos(server, ama, { triggeredAt });
    await server.tick();
    const [row] = await ledger(database(), incidentId);
    expect(row!.body).toContain('23:58 UTC 24 Nov (sent while offline).');
  });
});

describeOnEachDatabase('alert delivery without an SMS provider', (database) => {
  let server: AlertServer;
  beforeAll(async () => {
    server = await startAlertServer(database(), { sms: false });
  });
  afterAll(() => server.close());

  it('[AL12] records "not configured" and sends nothing', async () => {
    const ama = await newDevice(server, 'Ama');
    await addContact(server, ama, { name: 'Mum', phone: MUM });
    const incidentId = await triggerSos(server, ama);
    await server.tick();
    expect(await ledger(database(), incidentId)).toMatchObject([
      { channel: 'sms', status: 'not_configured' },
    ]);
    expect(server.twilio.requests).toHaveLength(0);
  });
});
