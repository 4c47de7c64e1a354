import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { fakeWebm, runUpload } from '../../test/storage-test-kit.ts';
import {
  act,
  addContact,
  newDevice,
  startAlertServer,
  textsTo,
  triggerSos,
  type AlertServer,
  type Device,
} from '../../test/alerts-test-kit.ts';

const MUM = '+447911123456';

describeOnEachDatabase('evidence on the alert page (/a/<token>)', (database) => {
  let server: AlertServer;
  beforeAll(async () => {
    server = await startAlertServer(database(), { storage: true });
  });
  afterAll(() => server.close());

  /** A user with one contact, an SOS, a 40 KB recording uploaded for it, and the contact's alert link. */
  async function incidentWithRecording(share: boolean) {
    const ama: Device = await newDevice(server, 'Ama');
    await addContact(server, ama, { name: 'Mum', phone: MUM, tier: 1 });
    if (share)
      await act(server, ama, 'user', 'settings.update@1', { fields: { shareMediaWithContacts: true } });
    const incidentId = await triggerSos(server, ama, { code: share ? 'EV11' : 'EV22' });
    await server.tick();
    const recording = fakeWebm(40_000);
    await runUpload({
      baseUrl: server.url,
      token: ama.token,
      file: recording,
      bucket: 'emergency',
      objectName: `user-${ama.userId}/incident-${incidentId}/audio-${newId()}.webm`,
      contentType: 'audio/webm',
      metadata: { capturedAt: new Date(server.clock.ms).toISOString(), durationMs: '83000' },
    });
    const link = /(\/a\/[\w-]{16})$/.exec(textsTo(server.twilio, MUM).at(-1)!.body)![1]!;
    return { recording, link };
  }

  it('[AL9] with sharing on, the contact downloads the exact recording by a link that expires within the hour', async () => {
    const { recording, link } = await incidentWithRecording(true);
    const page = await server.app.inject({ method: 'GET', url: link });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Recordings and photos Ama shared with you');
    expect(page.body).toMatch(/>Recording 1:23 \(39 KB, \d\d:\d\d UTC \d+ \w{3}\)</);
    const hrefs = [...page.body.matchAll(/href="(\/storage\/v1\/object\/sign\/[^"]+)"/g)].map((m) =>
      m[1]!.replaceAll('&amp;', '&'),
    );
    expect(hrefs).toHaveLength(1);

    const download = await fetch(`${server.url}${hrefs[0]!}`);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(recording)).toBe(true);

    server.clock.ms += 3_601_000;
    try {
      const late = await fetch(`${server.url}${hrefs[0]!}`);
      expect(late.status).toBe(403);
      expect(await late.json()).toMatchObject({ error_code: 'signed_url_expired' });
      // A new visit signs a new link.
      const again = await server.app.inject({ method: 'GET', url: link });
      expect(again.body).toMatch(/href="\/storage\/v1\/object\/sign\//);
    } finally {
      server.clock.ms -= 3_601_000;
    }
  });

  it('[AL9] with sharing off (the default), the page shows nothing about the files', async () => {
    const { link } = await incidentWithRecording(false);
    const page = await server.app.inject({ method: 'GET', url: link });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Ama sent an SOS');
    expect(page.body).not.toContain('Recording');
    expect(page.body).not.toContain('/storage/v1/');
  });
});
