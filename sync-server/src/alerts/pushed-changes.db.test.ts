/**
 * DB6 (issue 15): a committed push hands alert delivery what it changed (sync/pushed-changes.ts) instead of the
 * dispatcher querying for "this user's live incidents" after every push. The periodic scan is pushed far away here
 * (`fullScanMs`), so whatever is planned after the first round was planned from what a push handed over; the first
 * round's scan is the start-up one, which finds work left in the database by a crash.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import {
  act,
  addContact,
  incidentEvent,
  ledger,
  newDevice,
  startAlertServer,
  triggerSos,
  type AlertServer,
} from '../../test/alerts-test-kit.ts';

describeOnEachDatabase('what a push hands alert delivery', (database) => {
  let server: AlertServer;
  beforeAll(async () => {
    server = await startAlertServer(database(), { alerts: { fullScanMs: 24 * 60 * 60_000 } });
  });
  afterAll(() => server.close());

  /** Incidents planned since the server started. */
  const planned = () => server.app.alerts!.stats().incidentsPlanned;
  const alertsTo = async (incidentId: string, phone: string) =>
    (await ledger(database(), incidentId)).filter(
      (row) => row.to_address === phone && row.message_kind === 'alert',
    ).length;

  it('[DB6] an SOS reaches the dispatcher as its incident; a mood costs nothing; a contact change replans the live incidents', async () => {
    await server.tick(); // the start-up scan
    const device = await newDevice(server, 'Ama');
    await addContact(server, device, { name: 'Mum', phone: '+447911106001', tier: 1 });
    await server.tick();

    // The SOS is planned and its first alert sent from the incident id the push handed over.
    const incidentId = await triggerSos(server, device, { code: 'D6A1' });
    await server.tick();
    expect(await alertsTo(incidentId, '+447911106001')).toBe(1);

    // A mood while the incident is live: nothing is planned, nothing is queried for it.
    const beforeMood = planned();
    await act(server, device, 'user', 'mood.upsert@1', {
      id: newId(),
      recordedAt: server.clock.ms,
      fields: { mood: 3 },
    });
    await server.tick();
    expect(planned()).toBe(beforeMood);

    // A contact added during the incident changes what its plan reads: the live incident is planned again, and the
    // new tier-1 contact is alerted.
    await addContact(server, device, { name: 'Kofi', phone: '+447911106002', tier: 1 });
    await server.tick();
    expect(planned()).toBeGreaterThan(beforeMood);
    expect(await alertsTo(incidentId, '+447911106002')).toBe(1);

    // An event on the incident is handed over as the incident: "I'm safe" sends the all-clear at once.
    await incidentEvent(server, device, incidentId, { type: 'resolved' });
    await server.tick();
    const allClear = (await ledger(database(), incidentId)).filter((row) => row.message_kind === 'all_clear');
    expect(allClear.map((row) => row.to_address).sort()).toEqual(['+447911106001', '+447911106002']);
  });
});
