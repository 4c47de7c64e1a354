/**
 * A real server with alert delivery, Twilio played by the local fake (its real HTTP API shape, signed
 * callbacks), a test-owned clock, and the dispatcher driven by `tick()`: no sleeps. Users act through real
 * pushes, as their devices would.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { newId } from '@vitalwatch/schema/ids';
import type { MutatorArgs, MutatorName } from '@vitalwatch/schema/protocol/mutators';
import type { Lane } from '@vitalwatch/schema/protocol/lane';
import type { Database } from '../src/db/database.ts';
import { queryRows } from '../src/db/query-rows.ts';
import { startEmbeddedApp } from './test-app.ts';
import {
  mutation,
  push,
  pushBody,
  signUp,
  type SyncServer,
  type TestClock,
  type TestUser,
} from './sync-test-kit.ts';
import type { AlertsConfig } from '../src/alerts/alert-routes.ts';
import type { HttpLimits } from '../src/http/http-limits.ts';
import type { SupabaseStorage } from '../src/storage/supabase-storage.ts';
import { createTwilioSms } from '../src/alerts/twilio/twilio-sms.ts';
import { startFakeTwilio, type FakeTwilio } from './fake-twilio.ts';

export type AlertServer = SyncServer & {
  twilio: FakeTwilio;
  tick(): Promise<number>;
  close(): Promise<void>;
};

export async function startAlertServer(
  database: Database,
  options: {
    sms?: boolean;
    alerts?: Partial<AlertsConfig>;
    storage?: boolean;
    /** With `storage`: devices upload to this Supabase Storage and the server verifies and signs there. */
    supabaseStorage?: SupabaseStorage;
    /** Request limits (default: none a test reaches). */
    limits?: HttpLimits;
  } = {},
): Promise<AlertServer> {
  const clock: TestClock = { ms: Date.now() };
  const now = () => new Date(clock.ms);
  const twilio = await startFakeTwilio({ now });
  // The evidence store (issue #6) in a fresh directory, for the alert page's evidence links.
  const storageDir =
    options.storage === true ? await fs.mkdtemp(path.join(os.tmpdir(), 'vw-alert-storage-')) : null;
  const server = await startEmbeddedApp(database, {
    now,
    ...(options.limits !== undefined && { limits: options.limits }),
    ...(storageDir !== null && {
      storage: {
        dir: storageDir,
        urlSigningKey: new Uint8Array(randomBytes(32)),
        supabase: options.supabaseStorage ?? null,
      },
    }),
    alerts: (url) => ({
      sms:
        options.sms === false
          ? null
          : {
              name: 'twilio',
              ...createTwilioSms(
                {
                  accountSid: twilio.accountSid,
                  authToken: twilio.authToken,
                  from: '+15005550006',
                  messagingServiceSid: null,
                  apiUrl: twilio.url,
                  statusCallbackUrl: `${url}/webhooks/twilio/status`,
                },
                fetch,
                { now, timeoutMs: 2_000 },
              ),
            },
      twilioWebhooks: { accountSid: twilio.accountSid, authToken: twilio.authToken },
      webPush: null,
      vapidPublicKey: null,
      supabaseRealtime: null,
      autoStart: false,
      fullScanMs: 0,
      ...options.alerts,
    }),
  });
  return {
    ...server,
    clock,
    twilio,
    tick: () => server.app.alerts!.tick(),
    async close() {
      await server.app.close();
      await twilio.close();
      if (storageDir !== null) await fs.rm(storageDir, { recursive: true, force: true });
    },
  };
}

/** A user and their device's per-lane sequence numbers. */
export type Device = TestUser & { clientId: string; seqs: Record<Lane, number> };

export async function newDevice(server: SyncServer, displayName?: string): Promise<Device> {
  const user = await signUp(server.app);
  if (displayName !== undefined) {
    await server.app.inject({
      method: 'PATCH',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${user.token}` },
      payload: { display_name: displayName },
    });
  }
  return { ...user, clientId: newId(), seqs: { critical: 0, user: 0, bulk: 0 } };
}

export async function act<N extends MutatorName>(
  server: SyncServer,
  device: Device,
  lane: Lane,
  name: N,
  args: MutatorArgs<N>,
) {
  device.seqs[lane] += 1;
  const response = await push(
    server.app,
    device,
    pushBody(device.clientId, lane, [
      mutation(device.seqs[lane], name, args, { createdAt: server.clock.ms }),
    ]),
  );
  const result = response.results[0];
  if (result?.status !== 'ok') throw new Error(`${name} was not applied: ${JSON.stringify(result)}`);
}

export async function addContact(
  server: SyncServer,
  device: Device,
  contact: { name: string; phone: string; tier?: number; shareLocation?: boolean },
): Promise<string> {
  const id = newId();
  await act(server, device, 'user', 'contact.upsert@1', {
    id,
    fields: { name: contact.name, tier: contact.tier ?? 1, shareLocation: contact.shareLocation ?? true },
    phoneE164: contact.phone,
    expectedPhoneE164: null,
  });
  return id;
}

export async function triggerSos(
  server: SyncServer,
  device: Device,
  options: { triggeredAt?: number; code?: string; utcOffsetMinutes?: number } = {},
): Promise<string> {
  const id = newId();
  const at = options.triggeredAt ?? server.clock.ms;
  await act(server, device, 'critical', 'incident.trigger@1', {
    id,
    code: options.code ?? 'A7F3',
    trigger: 'panic_button',
    triggeredAt: at,
    location: { lat: 51.507351, lng: -0.127758, accuracyM: 12, at },
    ...(options.utcOffsetMinutes !== undefined && { utcOffsetMinutes: options.utcOffsetMinutes }),
  });
  return id;
}

export async function incidentEvent(
  server: SyncServer,
  device: Device,
  incidentId: string,
  event: Omit<MutatorArgs<'incident.event@1'>, 'id' | 'incidentId' | 'at'>,
): Promise<void> {
  await act(server, device, 'critical', 'incident.event@1', {
    id: newId(),
    incidentId,
    at: server.clock.ms,
    ...event,
  });
}

export type LedgerRow = {
  contact_id: string | null;
  channel: string;
  message_kind: string;
  status: string;
  to_address: string | null;
  body: string | null;
  error_code: string | null;
  attempts: number;
  response: string | null;
  status_history: Array<{ status: string; at: string; errorCode?: string }>;
};

export async function ledger(database: Database, incidentId: string): Promise<LedgerRow[]> {
  return queryRows<LedgerRow>(
    database.db,
    sql`select contact_id, channel, message_kind, status, to_address, body, error_code, attempts, response,
          status_history
        from alert_logs where incident_id = ${incidentId} order by created_at, contact_id, channel`,
  );
}

/** The messages the fake Twilio holds for one number, oldest first. */
export function textsTo(twilio: FakeTwilio, phone: string) {
  return twilio.messages.filter((m) => m.direction === 'outbound-api' && m.to === phone);
}
