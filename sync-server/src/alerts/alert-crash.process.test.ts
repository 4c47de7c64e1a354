/**
 * kill -9 in the middle of dispatch: the server process dies after Twilio accepted the texts and before the
 * server recorded it. After a restart, nothing may be lost and nothing sent twice (SPEC AL13).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '@vitalwatch/schema/ids';
import type { MutatorArgs, MutatorName } from '@vitalwatch/schema/protocol/mutators';
import { PROTOCOL_VERSION } from '@vitalwatch/schema/protocol/protocol-version';
import { decodePullPage } from '@vitalwatch/schema/protocol/pull-page';
import { PullResponse } from '@vitalwatch/schema/protocol/pull-response';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import { freePort } from '../../test/test-app.ts';
import { startServer, waitForHealth, type Server } from '../../test/server-process.ts';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { mutation, pushBody } from '../../test/sync-test-kit.ts';
import { startFakeTwilio, type FakeTwilio } from '../../test/fake-twilio.ts';

const MUM = '+447911123456';
const BROTHER = '+447911123457';

describeOnEachDatabase('alert dispatch survives kill -9', (database, kind) => {
  let twilio: FakeTwilio;
  let server: Server;
  let env: Record<string, string>;
  beforeAll(async () => {
    twilio = await startFakeTwilio();
    const port = String(await freePort());
    env = {
      PORT: port,
      DATA_DIR: await fs.mkdtemp(path.join(os.tmpdir(), 'vw-crash-')),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: '+15005550006',
      TWILIO_API_URL: twilio.url,
      ALERT_LEASE_SECONDS: '2',
      ...(kind === 'postgres' && { DATABASE_URL: database().url ?? '' }),
    };
    server = startServer(env);
    await waitForHealth(server);
  });
  afterAll(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    await twilio.close();
  });

  async function api(pathname: string, token: string | null, body: unknown) {
    const response = await fetch(`${server.url}${pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${pathname}: ${response.status} ${await response.text()}`);
    return response.json() as Promise<Record<string, unknown>>;
  }

  it('[AL13] texts sent before the crash are found at Twilio, not sent again; none is lost', async () => {
    const credentials = { email: `crash-${newId()}@example.org`, password: 'a long enough passphrase' };
    // Sign-up answers the user without a session (SE45); the session comes from signing in.
    await api('/auth/v1/signup', null, credentials);
    const token = (await api('/auth/v1/token?grant_type=password', null, credentials)).access_token as string;
    const clientId = newId();
    const seqs: Record<Lane, number> = { critical: 0, user: 0, bulk: 0 };
    const act = async <N extends MutatorName>(lane: Lane, name: N, args: MutatorArgs<N>) => {
      seqs[lane] += 1;
      await api('/sync/push', token, pushBody(clientId, lane, [mutation(seqs[lane], name, args)]));
    };
    for (const [name, phone] of [
      ['Mum', MUM],
      ['Kofi', BROTHER],
    ] as const) {
      await act('user', 'contact.upsert@1', {
        id: newId(),
        fields: { name, tier: 1 },
        phoneE164: phone,
        expectedPhoneE164: null,
      });
    }

    // Twilio takes both texts but its answers never reach the server: it dies first.
    twilio.holdRequests();
    await act('critical', 'incident.trigger@1', {
      id: newId(),
      code: 'KL99',
      trigger: 'panic_button',
      triggeredAt: Date.now(),
    });
    await twilio.waitForRequest((r) => r.method === 'POST' && r.params.To === MUM);
    await twilio.waitForRequest((r) => r.method === 'POST' && r.params.To === BROTHER);
    server.child.kill('SIGKILL');
    await server.exited;
    twilio.release();

    // The data directory's lock goes stale a few seconds after a crash.
    for (let attempt = 0; ; attempt++) {
      server = startServer(env);
      try {
        await waitForHealth(server, 30_000);
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1_500));
      }
    }

    // The ledger (read as the user's device does, by pull) shows both texts accepted.
    const deadline = Date.now() + 30_000;
    let statuses: string[] = [];
    while (Date.now() < deadline) {
      const wire = await api('/sync/pull', token, { protocolVersion: PROTOCOL_VERSION, clientId, cursor: 0 });
      const { changes } = decodePullPage(PullResponse.parse(wire));
      statuses = changes
        .filter((c) => c.table === 'alert_logs')
        .map((c) => (c.op === 'put' ? String(c.row.status) : ''));
      if (statuses.length === 2 && statuses.every((s) => s === 'queued')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(statuses).toEqual(['queued', 'queued']);
    for (const phone of [MUM, BROTHER]) {
      expect(twilio.messages.filter((m) => m.direction === 'outbound-api' && m.to === phone)).toHaveLength(1);
    }
    // The restarted server looked the messages up instead of sending them again.
    expect(twilio.requests.filter((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(2);
  });
});
