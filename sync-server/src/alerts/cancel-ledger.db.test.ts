/**
 * AL29 (issue #21): after a cancel, plain or under duress, a device holds no ledger rows for the incident, whether
 * it followed its cursor through the cancel or pulled everything fresh after a reinstall. The steps are the ones
 * an independent client found the leak with: a tier-1 contact, a trigger, the dispatcher's first alert, a pull that
 * brings that ledger row, the cancel, an incremental pull, a fresh pull.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { applyPages, pullAll } from '../../test/sync-test-kit.ts';
import {
  addContact,
  incidentEvent,
  ledger,
  newDevice,
  startAlertServer,
  triggerSos,
  type AlertServer,
} from '../../test/alerts-test-kit.ts';

type DeviceView = ReturnType<typeof applyPages>;

/** A device's rows by table (tables it holds nothing of left out). */
function rowsOf(view: DeviceView): Record<string, Record<string, unknown>[]> {
  return Object.fromEntries(
    [...view.entries()]
      .filter(([, rows]) => rows.size > 0)
      .map(([table, rows]) => [table, [...rows.values()]]),
  );
}

/** How many rows of each table a device holds. */
function shapeOf(view: DeviceView): Record<string, number> {
  return Object.fromEntries(Object.entries(rowsOf(view)).map(([table, rows]) => [table, rows.length]));
}

describeOnEachDatabase('a cancelled incident’s ledger on devices', (database) => {
  let server: AlertServer;
  beforeAll(async () => {
    server = await startAlertServer(database());
  });
  afterAll(() => server.close());

  /** The steps with a plain or a duress cancel; the device's state after each pull. */
  async function cancelAfterFirstAlert(duress: boolean, phoneSuffix: string) {
    const device = await newDevice(server, 'Ama');
    await addContact(server, device, { name: 'Mum', phone: `+4479111${phoneSuffix}1`, tier: 1 });
    await addContact(server, device, { name: 'Kofi', phone: `+4479111${phoneSuffix}2`, tier: 2 });
    const incidentId = await triggerSos(server, device, { code: 'CA11' });
    server.clock.ms += 1_500;
    await server.tick();

    let pages = await pullAll(server.app, device, 0);
    const followed = applyPages(pages);
    const ledgerBeforeCancel = [...(followed.get('alert_logs')?.values() ?? [])];
    let cursor = pages.at(-1)!.cursor;

    await incidentEvent(server, device, incidentId, { type: 'cancelled', ...(duress && { duress: true }) });
    pages = await pullAll(server.app, device, cursor);
    applyPages(pages, followed);
    cursor = pages.at(-1)!.cursor;
    const afterCancel = {
      followed: structuredClone(followed),
      fresh: applyPages(await pullAll(server.app, device, 0)),
    };

    // The server goes on: an all-clear after a plain cancel, escalation to tier 2 after a duress one (AL5, AL6).
    server.clock.ms += 130_000;
    await server.tick();
    await server.tick();
    applyPages(await pullAll(server.app, device, cursor), followed);
    const later = { followed, fresh: applyPages(await pullAll(server.app, device, 0)) };
    const serverLedger = await ledger(database(), incidentId);
    return { ledgerBeforeCancel, afterCancel, later, serverLedger };
  }

  it('[AL29] a device that pulled the first alert drops it on a cancel, plain or duress, as a fresh pull never shows it', async () => {
    const plain = await cancelAfterFirstAlert(false, '001');
    const duress = await cancelAfterFirstAlert(true, '002');

    for (const run of [plain, duress]) {
      // Before the cancel the device saw the first alert, as it must (AL1).
      expect(run.ledgerBeforeCancel).toHaveLength(1);
      expect(run.ledgerBeforeCancel[0]).toMatchObject({ messageKind: 'alert', channel: 'sms' });
      for (const { followed, fresh } of [run.afterCancel, run.later]) {
        expect([...(followed.get('alert_logs')?.values() ?? [])]).toEqual([]);
        expect([...(fresh.get('alert_logs')?.values() ?? [])]).toEqual([]);
        // Following the cursor and pulling afresh give the same device.
        expect(rowsOf(followed)).toEqual(rowsOf(fresh));
      }
    }
    // The server did what each cancel asks for; the devices cannot tell which it was.
    expect(plain.serverLedger.map((r) => r.message_kind).sort()).toEqual(['alert', 'all_clear']);
    expect(duress.serverLedger.map((r) => r.message_kind).sort()).toEqual(['alert', 'escalation']);
    expect(shapeOf(plain.later.followed)).toEqual(shapeOf(duress.later.followed));
    const incident = (view: DeviceView): Record<string, unknown> => {
      const [row] = [...(view.get('emergency_incidents')?.values() ?? [])];
      // Ids and times differ between the two users; what the row says must not.
      return Object.fromEntries(
        Object.entries(row ?? {})
          .filter(([key]) => key !== 'id')
          .map(([key, value]) => [key, typeof value === 'number' ? 'n' : value]),
      );
    };
    expect(incident(plain.later.fresh)).toEqual(incident(duress.later.fresh));
  });

  it('[AL29] a resolved incident keeps its ledger on devices, all-clear included', async () => {
    const device = await newDevice(server, 'Ama');
    await addContact(server, device, { name: 'Mum', phone: '+447911100031', tier: 1 });
    const incidentId = await triggerSos(server, device, { code: 'RS11' });
    await server.tick();
    await incidentEvent(server, device, incidentId, { type: 'resolved' });
    await server.tick();
    await server.tick();
    const view = applyPages(await pullAll(server.app, device, 0));
    expect([...(view.get('alert_logs')?.values() ?? [])].map((r) => r.messageKind).sort()).toEqual([
      'alert',
      'all_clear',
    ]);
  });
});
