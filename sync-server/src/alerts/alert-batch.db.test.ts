/**
 * The dispatcher under a burst. Planning in batches (SPEC AL21): hundreds of incidents reach one planning round,
 * and planning them together must write exactly what planning them one at a time writes, in every state an
 * incident can be in. Sending claimed ahead (AL13): a claimed row waits in line for a free provider slot, and one
 * that waited too long must not race its own second claim.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { queryRows } from '../db/query-rows.ts';
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
  type LedgerRow,
} from '../../test/alerts-test-kit.ts';
import { planIncidents, type PlanContext } from './plan-incidents.ts';

const ROLES = ['mum', 'brother', 'friend'] as const;
let phonesGiven = 0;
/** Every user's contacts get numbers of their own, so a row that reached another user's contact shows. */
function newPhones(): [string, string, string] {
  const next = () => `+447912${String(100_000 + phonesGiven++)}`;
  return [next(), next(), next()];
}

/** A ledger row without what differs between two users by construction (ids, numbers, link tokens, times). */
function comparable(row: LedgerRow, phones: readonly string[]) {
  const role = ROLES[phones.indexOf(row.to_address ?? '')];
  return {
    to: role ?? `not this user's contact: ${row.to_address}`,
    channel: row.channel,
    kind: row.message_kind,
    status: row.status,
    attempts: row.attempts,
    history: row.status_history.map((h) => h.status),
    body: row.body?.replace(/\/a\/[\w-]{16}/, '/a/<token>') ?? null,
  };
}

describeOnEachDatabase('alert planning in batches', (database) => {
  let server: AlertServer;
  beforeAll(async () => {
    server = await startAlertServer(database());
  });
  afterAll(() => server.close());

  function context(): PlanContext {
    const refuse = () => Promise.reject(new Error('planning never sends'));
    return {
      channels: {
        sms: { name: 'twilio', send: refuse, findSent: refuse },
        webPush: null,
        realtime: null,
      },
      publicUrl: server.url,
      linkTtlMs: 7 * 24 * 3_600_000,
      at: new Date(server.clock.ms),
    };
  }
  const planTogether = (ids: string[]) =>
    database().db.transaction((tx) => planIncidents(tx, ids, context()));
  async function planOneByOne(ids: string[]) {
    for (const id of ids) await planTogether([id]);
  }

  async function userWithContacts(phones = newPhones()) {
    const ama = await newDevice(server, 'Ama');
    const contacts = {
      mum: await addContact(server, ama, { name: 'Mum', phone: phones[0], tier: 1 }),
      brother: await addContact(server, ama, { name: 'Kofi', phone: phones[1], tier: 2 }),
      friend: await addContact(server, ama, { name: 'Efua', phone: phones[2], tier: 3 }),
    };
    return { ama, contacts, phones };
  }

  it('[AL21] planning many incidents together writes the same ledger as planning them one at a time', async () => {
    // Each scenario twice: once planned alone, once in a batch with all the others.
    type Scenario = { device: Device; contacts: { mum: string }; phones: string[]; incidentId: string };
    const scenarios = ['plain', 'resolved', 'duress', 'device texted', 'acknowledged, moving'] as const;
    async function setUp(): Promise<Scenario[]> {
      const out: Scenario[] = [];
      for (const name of scenarios) {
        const phones = newPhones();
        const { ama, contacts } = await userWithContacts(phones);
        const incidentId = await triggerSos(server, ama, { code: 'BT01' });
        if (name === 'device texted') {
          await incidentEvent(server, ama, incidentId, {
            type: 'sms_composer_opened',
            contactIds: [contacts.mum],
          });
          await incidentEvent(server, ama, incidentId, { type: 'sms_user_reported', sent: true });
        }
        out.push({ device: ama, contacts, phones, incidentId });
      }
      return out;
    }
    const alone = await setUp();
    const together = await setUp();
    const ids = (group: Scenario[]) => group.map((s) => s.incidentId);
    async function expectSameLedgers() {
      for (const [i, scenario] of alone.entries()) {
        const batched = together[i]!;
        const mine = (await ledger(database(), scenario.incidentId)).map((r) =>
          comparable(r, scenario.phones),
        );
        const rows = await ledger(database(), batched.incidentId);
        expect(
          rows.map((r) => comparable(r, batched.phones)),
          scenarios[i],
        ).toEqual(mine);
        // Each text links to its own contact's page for its own incident.
        for (const row of rows) {
          const token = /\/a\/([\w-]{16})/.exec(row.body ?? '')?.[1];
          if (token === undefined) continue;
          const [link] = await queryRows<{ incident_id: string; contact_id: string }>(
            database().db,
            sql`select incident_id, contact_id from alert_links where token = ${token}`,
          );
          expect(link).toEqual({ incident_id: batched.incidentId, contact_id: row.contact_id });
        }
      }
    }

    // 1. Alerts for tier 1 (or the device's own text, AL3).
    await planOneByOne(ids(alone));
    await planTogether(ids(together));
    await expectSameLedgers();
    // Send them (both groups alike), and let Mum answer in the last scenario.
    await server.tick();
    for (const group of [alone, together]) {
      const moving = group.at(-1)!;
      const [link] = await queryRows<{ token: string }>(
        database().db,
        sql`select token from alert_links
            where incident_id = ${moving.incidentId} and contact_id = ${moving.contacts.mum}`,
      );
      const answer = await server.app.inject({
        method: 'POST',
        url: `/a/${link!.token}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'response=on_my_way',
      });
      expect(answer.statusCode).toBe(303);
    }

    // 2. Two minutes on: escalation to tier 2, planned but not yet tried; a fix for the acknowledged one (AL7).
    server.clock.ms += 121_000;
    for (const group of [alone, together]) {
      const moving = group.at(-1)!;
      await incidentEvent(server, moving.device, moving.incidentId, {
        type: 'location',
        location: { lat: 51.6, lng: -0.1, accuracyM: 8, at: server.clock.ms },
      });
    }
    await planOneByOne(ids(alone));
    await planTogether(ids(together));
    await expectSameLedgers();

    // 3. "I'm safe" drops the untried escalation and sends the all-clear (AL5); duress goes on escalating (AL6).
    for (const group of [alone, together]) {
      await incidentEvent(server, group[1]!.device, group[1]!.incidentId, { type: 'resolved' });
      await incidentEvent(server, group[2]!.device, group[2]!.incidentId, {
        type: 'cancelled',
        duress: true,
      });
    }
    server.clock.ms += 180_000;
    await planOneByOne(ids(alone));
    await planTogether(ids(together));
    await expectSameLedgers();
    const resolved = (await ledger(database(), together[1]!.incidentId)).map((r) =>
      comparable(r, together[1]!.phones),
    );
    expect(resolved.map((r) => [r.to, r.kind, r.status]).sort()).toEqual([
      ['brother', 'escalation', 'canceled'],
      ['mum', 'alert', 'queued'],
      ['mum', 'all_clear', 'pending'],
    ]);

    // Planning again, together or alone, adds nothing.
    const before = await Promise.all(ids(together).map((id) => ledger(database(), id)));
    await planTogether([...ids(together), ...ids(alone)]);
    expect(await Promise.all(ids(together).map((id) => ledger(database(), id)))).toEqual(before);
  });

  it('[AL21] one wake-up plans its incidents in one transaction; one that fails holds up none of the others', async () => {
    await server.tick(); // whatever earlier tests left due
    const users: { ama: Device; phones: [string, string, string] }[] = [];
    for (let i = 0; i < 6; i++) users.push(await userWithContacts());
    const mumOf = (i: number) => users[i]!.phones[0];
    const incidents: string[] = [];
    for (const { ama } of users) incidents.push(await triggerSos(server, ama));
    const poisoned = incidents[3]!;
    const stats = server.app.alerts!.stats;

    await database().db.execute(
      sql.raw(`create function vw_refuse_alert() returns trigger language plpgsql as $$
        begin
          if new.incident_id = '${poisoned}' then raise exception 'the test refuses this incident'; end if;
          return new;
        end $$`),
    );
    await database().db.execute(
      sql`create trigger vw_refuse_alert before insert on alert_logs
          for each row execute function vw_refuse_alert()`,
    );
    const before = stats();
    await server.tick();
    expect(stats().sends - before.sends).toBe(5);
    for (const [i, id] of incidents.entries()) {
      expect(textsTo(server.twilio, mumOf(i)), `user ${i}`).toHaveLength(id === poisoned ? 0 : 1);
      expect(await ledger(database(), id)).toHaveLength(id === poisoned ? 0 : 1);
    }

    // Fixed: the next wake-up plans it.
    await database().db.execute(sql`drop trigger vw_refuse_alert on alert_logs`);
    server.clock.ms += 1_000;
    await server.tick();
    expect(textsTo(server.twilio, mumOf(3))).toHaveLength(1);

    // Six at once are planned together: a transaction per round of the wake-up (plan, send, plan the answers'
    // consequences), not one per incident and round.
    const more = [];
    for (let i = 0; i < 6; i++) more.push(await userWithContacts());
    for (const { ama } of more) await triggerSos(server, ama);
    const burst = stats();
    await server.tick();
    expect(stats().sends - burst.sends).toBe(6);
    expect(stats().incidentsPlanned - burst.incidentsPlanned).toBeGreaterThanOrEqual(12);
    expect(stats().planBatches - burst.planBatches).toBeLessThanOrEqual(3);
  });
});

describeOnEachDatabase('alert sending claimed ahead', (database) => {
  let server: AlertServer;
  beforeAll(async () => {
    server = await startAlertServer(database());
  });
  afterAll(() => server.close());

  it('[AL13] a row that waited in line past half its lease is not sent then, but after the lease, checked first, once', async () => {
    // One more alert than the dispatcher sends at once (32): the last waits in line for a free slot.
    const phones: string[] = [];
    for (let i = 0; i < 33; i++) {
      const ama = await newDevice(server, 'Ama');
      phones.push(`+447913${String(100_000 + i)}`);
      await addContact(server, ama, { name: 'Mum', phone: phones[i]!, tier: 1 });
      await triggerSos(server, ama);
    }
    const posted = () => server.twilio.requests.filter((r) => r.method === 'POST').length;

    // Twilio takes the first 32 and answers none of them for half a minute.
    server.twilio.holdRequests();
    const ticking = server.tick();
    await server.twilio.waitForRequest(() => posted() === 32);
    server.clock.ms += 31_000;
    server.twilio.release();
    await ticking;
    expect(posted()).toBe(32);
    const waited = phones.filter((phone) => textsTo(server.twilio, phone).length === 0);
    expect(waited).toHaveLength(1);

    // When its lease has run out, it is claimed again, in doubt: Twilio is asked first, then it is sent.
    server.clock.ms += 30_000;
    await server.tick();
    for (const phone of phones) expect(textsTo(server.twilio, phone), phone).toHaveLength(1);
    const asked = server.twilio.requests.findIndex((r) => r.method === 'GET');
    const texted = server.twilio.requests.findIndex(
      (r) => r.method === 'POST' && r.params['To'] === waited[0],
    );
    // Only the row in doubt was looked up.
    expect(
      new Set(server.twilio.requests.filter((r) => r.method === 'GET').map((r) => r.query['To'])),
    ).toEqual(new Set(waited));
    expect(asked).toBeGreaterThan(-1);
    expect(asked).toBeLessThan(texted);
  });
});
