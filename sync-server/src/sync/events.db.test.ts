import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import { Poke } from '@vitalwatch/schema/protocol/poke';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { startPostgresPokes } from './postgres-pokes.ts';
import {
  mutation,
  openEventStream,
  push,
  pushBody,
  signUp,
  startSyncServer,
  type SyncServer,
  type TestUser,
} from '../../test/sync-test-kit.ts';

/** `GET /sync/events` over real HTTP; `next()` resolves with the next poke, parsed with the protocol schema. */
const openEvents = (baseUrl: string, token: string | null) =>
  openEventStream(baseUrl, token, 'poke', (data) => z.parse(Poke, data));

describeOnEachDatabase('GET /sync/events', (database, kind) => {
  let server: SyncServer;
  beforeAll(async () => {
    server = await startSyncServer(database());
  });
  afterAll(() => server.app.close());

  async function addMood(user: TestUser, clientId: string, seq: number) {
    await push(
      server.app,
      user,
      pushBody(clientId, 'user', [
        mutation(seq, 'mood.upsert@1', { id: newId(), recordedAt: Date.now(), fields: { mood: 3 } }),
      ]),
    );
  }

  it("[PL8] pokes a signed-in user's stream with the current version, then after each commit that changed their rows", async () => {
    const alice = await signUp(server.app);
    const bob = await signUp(server.app);
    const aliceDevice = newId();
    await addMood(alice, aliceDevice, 1);
    const stream = await openEvents(server.url, alice.token);
    try {
      expect(stream.status).toBe(200);
      expect(await stream.next()).toEqual({ type: 'poke', version: 1 });
      // Bob's commit is not Alice's business; her next poke is her own next version.
      await addMood(bob, newId(), 1);
      await addMood(alice, aliceDevice, 2);
      expect(await stream.next()).toEqual({ type: 'poke', version: 2 });
      // A replayed batch (all dup) changes nothing and pokes nobody; the next real change does.
      await push(
        server.app,
        alice,
        pushBody(aliceDevice, 'user', [
          mutation(2, 'mood.upsert@1', { id: newId(), recordedAt: Date.now(), fields: { mood: 1 } }),
        ]),
      );
      await addMood(alice, aliceDevice, 3);
      expect(await stream.next()).toEqual({ type: 'poke', version: 3 });
    } finally {
      stream.close();
    }
  });

  it('[PL8] ends open streams when the server shuts down', async () => {
    const other = await startSyncServer(database());
    const user = await signUp(other.app);
    const stream = await openEvents(other.url, user.token);
    expect(await stream.next()).toEqual({ type: 'poke', version: 0 });
    const ended = new Promise<void>((resolve) => stream.onEnd(resolve));
    await other.app.close();
    await ended;
  });

  it('[PL8] refuses a stream without a valid token', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/sync/events' });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error_code: 'no_authorization' });
  });

  it.runIf(kind === 'postgres')(
    '[PL8] fans pokes out to every instance through Postgres LISTEN/NOTIFY',
    async () => {
      const url = database().url!;
      const first = await startPostgresPokes(url);
      const second = await startPostgresPokes(url);
      try {
        const userId = newId<UserId>();
        const heard = new Promise<number>((resolve) => second.subscribe(userId, resolve));
        const heardHere = new Promise<number>((resolve) => first.subscribe(userId, resolve));
        first.publish(userId, 42);
        expect(await heard).toBe(42);
        expect(await heardHere).toBe(42);
      } finally {
        await first.close();
        await second.close();
      }
    },
  );
});
