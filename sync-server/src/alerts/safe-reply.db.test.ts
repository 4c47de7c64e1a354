import { pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PinVerifier } from '@vitalwatch/schema/protocol/pin-verifier';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { queryRows } from '../db/query-rows.ts';
import { pullAll, push, pushBody, rawMutation } from '../../test/sync-test-kit.ts';
import {
  act,
  addContact,
  ledger,
  newDevice,
  startAlertServer,
  triggerSos,
  type AlertServer,
  type Device,
} from '../../test/alerts-test-kit.ts';

const MUM = '+447911123456';
const BROTHER = '+447911123457';
const NEIGHBOUR = '+447911123459';
const TWILIO_NUMBER = '+15005550006';
const CANCEL_PIN = '2468';
const DURESS_PIN = '135790';

const derive = promisify(pbkdf2);

/** What web/src/device/pin.ts stores for a PIN: 16 random bytes of salt, 100,000 rounds of PBKDF2-SHA256. */
async function verifier(pin: string): Promise<PinVerifier> {
  const salt = randomBytes(16);
  const hash = await derive(pin, salt, 100_000, 32, 'sha256');
  return { salt: salt.toString('hex'), hash: hash.toString('hex'), iterations: 100_000 };
}

describeOnEachDatabase('SMS "SAFE <code> <PIN>" (Twilio API shape, injected clock)', (database) => {
  let server: AlertServer;
  beforeAll(async () => {
    server = await startAlertServer(database());
  });
  afterAll(() => server.close());

  /**
   * Ama, with Mum (tier 1) and her brother (tier 2) and the PINs her device gave the server, has sent an SOS with
   * that code, and the dispatcher has texted Mum.
   */
  async function sos(
    code: string,
    pins: { cancel?: boolean; duress?: boolean } = { cancel: true, duress: true },
  ) {
    const device = await newDevice(server, 'Ama');
    const contacts = {
      mum: await addContact(server, device, { name: 'Mum', phone: MUM, tier: 1 }),
      brother: await addContact(server, device, { name: 'Kofi', phone: BROTHER, tier: 2 }),
    };
    await act(server, device, 'user', 'settings.update@1', {
      fields: {
        ...(pins.cancel === true && { cancelPin: await verifier(CANCEL_PIN) }),
        ...(pins.duress === true && { duressPin: await verifier(DURESS_PIN) }),
      },
    });
    const incidentId = await triggerSos(server, device, { code });
    await server.tick();
    return { device, contacts, incidentId };
  }

  async function text(from: string, body: string): Promise<string> {
    const reply = await server.twilio.sendInbound(`${server.url}/webhooks/twilio/inbound`, {
      from,
      to: TWILIO_NUMBER,
      body,
    });
    expect(reply.status).toBe(200);
    return reply.body;
  }

  type EventRow = { type: string; contact_ids: string[] | null; duress: boolean; outcome: string };

  async function incidentState(incidentId: string) {
    const [incident] = await queryRows<{
      status: string;
      silent_escalation: boolean;
      sms_pin_failures: number;
    }>(
      database().db,
      sql`select status, silent_escalation, sms_pin_failures from emergency_incidents where id = ${incidentId}`,
    );
    const events = await queryRows<EventRow>(
      database().db,
      sql`select type, contact_ids, duress, outcome from incident_events
          where incident_id = ${incidentId} order by created_at, id`,
    );
    return { ...incident!, events };
  }

  /** What the user's device holds for the incident after a pull from nothing. */
  async function devicePull(device: Device, incidentId: string) {
    const changes = (await pullAll(server.app, device, 0)).flatMap((p) => p.changes);
    const rows = (table: string) =>
      changes.flatMap((c) =>
        c.op === 'put' && c.table === table && (c.row.id === incidentId || c.row.incidentId === incidentId)
          ? [c.row]
          : [],
      );
    return {
      incident: rows('emergency_incidents').at(-1),
      events: rows('incident_events'),
      ledger: rows('alert_logs'),
    };
  }

  it('[AL15] the cancel PIN resolves the incident like "I\'m safe", names the contact and sends the all-clear', async () => {
    const { device, contacts, incidentId } = await sos('SF15');

    const reply = await text(MUM, `  safe   sf15  ${CANCEL_PIN} `);
    expect(reply).toContain('Alert SF15 from Ama is now ended.');

    const state = await incidentState(incidentId);
    expect(state).toMatchObject({ status: 'resolved', silent_escalation: false, sms_pin_failures: 0 });
    expect(state.events).toEqual([
      { type: 'resolved', contact_ids: [contacts.mum], duress: false, outcome: 'applied' },
    ]);

    await server.tick();
    const rows = await ledger(database(), incidentId);
    expect(rows.map((r) => [r.to_address, r.message_kind])).toEqual([
      [MUM, 'alert'],
      [MUM, 'all_clear'],
    ]);
    expect(rows[1]!.body).toBe('All clear from Ama: safe now. No need to act on alert SF15.');
    // Nobody else is alerted any more.
    server.clock.ms += 600_000;
    await server.tick();
    expect(await ledger(database(), incidentId)).toHaveLength(2);

    const seen = await devicePull(device, incidentId);
    expect(seen.incident).toMatchObject({ status: 'resolved' });
    expect(seen.events.map((e) => e.type)).toEqual(['resolved']);
  });

  it('[AL16] the duress PIN gets the same answer, but escalation goes on and the device sees a plain cancel', async () => {
    const { device, contacts, incidentId } = await sos('SF16');

    const reply = await text(MUM, `SAFE SF16 ${DURESS_PIN}`);
    // Word for word what the cancel PIN gets (AL15), code aside.
    expect(reply).toContain('Alert SF16 from Ama is now ended.');
    await sos('SF6B');
    const genuine = await text(MUM, `SAFE SF6B ${CANCEL_PIN}`);
    expect(reply.replace('SF16', 'CODE')).toBe(genuine.replace('SF6B', 'CODE'));

    const state = await incidentState(incidentId);
    expect(state).toMatchObject({ status: 'cancelled', silent_escalation: true, sms_pin_failures: 0 });
    expect(state.events).toEqual([
      { type: 'cancelled', contact_ids: [contacts.mum], duress: true, outcome: 'applied' },
    ]);

    server.clock.ms += 300_000;
    await server.tick();
    await server.tick();
    const rows = await ledger(database(), incidentId);
    expect(rows.map((r) => [r.to_address, r.message_kind])).toEqual([
      [MUM, 'alert'],
      [BROTHER, 'escalation'],
    ]);
    expect(rows[1]!.body).toContain('The SOS was cancelled under duress: it is real.');

    // Exactly what the app's own duress PIN leaves on the device (AL6): a cancel, and no ledger.
    const seen = await devicePull(device, incidentId);
    expect(seen.incident).toMatchObject({ status: 'cancelled' });
    expect(seen.events.map((e) => [e.type, e.outcome])).toEqual([['cancelled', 'applied']]);
    expect(seen.ledger).toEqual([]);
  });

  it('[AL17] a wrong PIN is answered as wrong and changes nothing; escalation goes on', async () => {
    const { device, incidentId } = await sos('SF17');

    expect(await text(MUM, 'SAFE SF17 9999')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>VitalWatch: that PIN is wrong; alert SF17 is still on. 4 tries left.</Message></Response>',
    );
    const state = await incidentState(incidentId);
    expect(state).toMatchObject({ status: 'active', silent_escalation: false, sms_pin_failures: 1 });
    expect(state.events).toEqual([]);

    server.clock.ms += 120_000;
    await server.tick();
    expect((await ledger(database(), incidentId)).map((r) => [r.to_address, r.message_kind])).toEqual([
      [MUM, 'alert'],
      [BROTHER, 'escalation'],
    ]);
    expect((await devicePull(device, incidentId)).incident).toMatchObject({ status: 'active' });
  });

  it('[AL17] after 5 wrong PINs the 6th attempt is refused, even with the right PIN', async () => {
    const { incidentId } = await sos('SF18');

    const replies: string[] = [];
    for (const pin of ['0000', '1111', '2222', '3333', '4444'])
      replies.push(await text(MUM, `SAFE SF18 ${pin}`));
    expect(replies[3]).toContain('1 try left.');
    expect(replies[4]).toContain(
      'that PIN is wrong, and it was the last try: only the person who sent the alert can end it, from their app.',
    );

    for (const pin of [CANCEL_PIN, DURESS_PIN]) {
      expect(await text(MUM, `SAFE SF18 ${pin}`)).toContain(
        'VitalWatch: too many wrong PINs, so only the person who sent the alert can end it, from their app.',
      );
    }
    expect(await incidentState(incidentId)).toMatchObject({
      status: 'active',
      silent_escalation: false,
      sms_pin_failures: 5,
      events: [],
    });
  });

  it('[AL17] guesses sent at the same time cannot get past the limit', async () => {
    const { incidentId } = await sos('SF19');
    const replies = await Promise.all(
      ['5550', '5551', '5552', '5553', '5554', '5555', '5556', '5557'].map((pin) =>
        text(MUM, `SAFE SF19 ${pin}`),
      ),
    );
    expect(replies.filter((r) => r.includes('too many wrong PINs'))).toHaveLength(3);
    expect(await incidentState(incidentId)).toMatchObject({ status: 'active', sms_pin_failures: 5 });
  });

  it('[SE44] a replayed signed "SAFE <code> 0000" is applied once: six replays use no tries and the real PIN still ends the alert', async () => {
    const { incidentId } = await sos('SF44');
    const url = `${server.url}/webhooks/twilio/inbound`;
    const first = await text(MUM, 'SAFE SF44 0000');
    expect(first).toContain('that PIN is wrong; alert SF44 is still on. 4 tries left.');
    // Whoever captured that signed request posts it again, word for word; Twilio's signature covers no time.
    const replays = [];
    for (let i = 0; i < 6; i++) replays.push(await server.twilio.replayInbound(url));
    for (const replay of replays) {
      expect(replay.status).toBe(200);
      // Answered as the first was (so Twilio retrying a lost answer sends the same SMS), applied never again.
      expect(replay.body).toBe(first);
    }
    expect(await incidentState(incidentId)).toMatchObject({ status: 'active', sms_pin_failures: 1 });

    expect(await text(MUM, `SAFE SF44 ${CANCEL_PIN}`)).toContain('Alert SF44 from Ama is now ended.');
    expect(await incidentState(incidentId)).toMatchObject({ status: 'resolved' });
    const [claims] = await queryRows<{ n: number; users: number }>(
      database().db,
      sql`select count(*)::int as n, count(distinct user_id)::int as users from inbound_sms
          where reply like '%SF44%'`,
    );
    expect(claims).toEqual({ n: 2, users: 1 });
  });

  it('[SE44] replays arriving together are applied once', async () => {
    const { incidentId } = await sos('SF45');
    await text(MUM, 'SAFE SF45 0000');
    const url = `${server.url}/webhooks/twilio/inbound`;
    const replies = await Promise.all(Array.from({ length: 6 }, () => server.twilio.replayInbound(url)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await incidentState(incidentId)).toMatchObject({ status: 'active', sms_pin_failures: 1 });
  });

  it('[AL18] a number that was not alerted for that code changes nothing, even with the right PIN', async () => {
    const { incidentId } = await sos('SF20');

    // Kofi is a contact, but tier 2 has not been alerted yet; the neighbour was never a contact.
    for (const from of [BROTHER, NEIGHBOUR]) {
      expect(await text(from, `SAFE SF20 ${CANCEL_PIN}`)).toContain(
        'VitalWatch: no alert SF20 was sent to this number. Check the code and reply SAFE &#60;code&#62; &#60;PIN&#62;.',
      );
    }
    // Mum was alerted, but for another code.
    expect(await text(MUM, `SAFE SF2X ${CANCEL_PIN}`)).toContain('no alert SF2X was sent to this number');
    expect(await incidentState(incidentId)).toMatchObject({
      status: 'active',
      sms_pin_failures: 0,
      events: [],
    });
  });

  it('[AL18] without a cancel PIN on the server, only the app can end the alert', async () => {
    const { incidentId } = await sos('SF21', { duress: true });
    for (const body of [`SAFE SF21 ${CANCEL_PIN}`, `SAFE SF21 ${DURESS_PIN}`, 'SAFE SF21', 'safe']) {
      expect(await text(MUM, body)).toContain(
        '<Message>VitalWatch: only the person who sent the alert can end it, from their app.</Message>',
      );
    }
    expect(await incidentState(incidentId)).toMatchObject({
      status: 'active',
      sms_pin_failures: 0,
      events: [],
    });
  });

  it('[AL19] settings.update refuses a malformed PIN verifier as invalid_args, naming the field', async () => {
    const device = await newDevice(server, 'Ama');
    const good = await verifier(CANCEL_PIN);
    const bad = [
      { ...good, salt: 'not hex' },
      { ...good, salt: 'ab'.repeat(8) + 'c' },
      { ...good, hash: good.hash.slice(2) },
      { ...good, hash: good.hash.toUpperCase() },
      { ...good, iterations: 99_999 },
      { ...good, iterations: 1_000_001 },
      { ...good, iterations: 100_000.5 },
      { ...good, pin: CANCEL_PIN },
      { salt: good.salt, hash: good.hash },
    ];
    const response = await push(
      server.app,
      device,
      pushBody(
        device.clientId,
        'user',
        bad.map((cancelPin, i) => rawMutation(i + 1, 'settings.update@1', { fields: { cancelPin } })),
      ),
    );
    expect(response.results).toHaveLength(bad.length);
    for (const result of response.results) {
      expect(result).toMatchObject({ status: 'rejected', code: 'invalid_args' });
      expect(result.status === 'rejected' && result.message).toMatch(/args\.fields\.cancelPin/);
    }
    const [stored] = await queryRows<{ cancel_pin_hash: string | null }>(
      database().db,
      sql`select cancel_pin_hash from user_settings where user_id = ${device.userId}`,
    );
    expect(stored?.cancel_pin_hash).toBeNull();
  });

  it('[AL19] a verifier is stored server-side only, pulled as a flag, and null removes it', async () => {
    const device = await newDevice(server, 'Ama');
    const good = await verifier(CANCEL_PIN);
    await act(server, device, 'user', 'settings.update@1', { fields: { cancelPin: good } });
    const [stored] = await queryRows<{ cancel_pin_hash: string | null; duress_pin_hash: string | null }>(
      database().db,
      sql`select cancel_pin_hash, duress_pin_hash from user_settings where user_id = ${device.userId}`,
    );
    expect(stored).toEqual({
      cancel_pin_hash: `pbkdf2-sha256$100000$${good.salt}$${good.hash}`,
      duress_pin_hash: null,
    });

    const settings = async () =>
      (await pullAll(server.app, device, 0))
        .flatMap((p) => p.changes)
        .find((c) => c.op === 'put' && c.table === 'user_settings');
    const pulled = await settings();
    expect(pulled).toMatchObject({ row: { cancelPinSet: true, duressPinSet: false } });
    expect(JSON.stringify(pulled)).not.toContain(good.hash);
    expect(JSON.stringify(pulled)).not.toContain(good.salt);

    server.clock.ms += 1;
    await act(server, device, 'user', 'settings.update@1', { fields: { cancelPin: null } });
    expect(await settings()).toMatchObject({ row: { cancelPinSet: false, duressPinSet: false } });
  });
});
