/**
 * What an idle sync check-in (one `POST /sync/pull` with nothing new) costs on the wire, issue #3's target being
 * at most 1 kB: the real server (embedded auth, PGlite, and Postgres when TEST_DATABASE_URL is set) behind a TCP
 * proxy that counts every byte each way, and the device's fetch transport over Node's fetch. The counts are the
 * request line, headers and body exactly as fetch sent them, and the whole response as the server sent it.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '../schema/src/ids.ts';
import { PROTOCOL_VERSION } from '../schema/src/protocol/protocol-version.ts';
import { startEmbeddedApp, type RunningApp } from '../sync-server/test/test-app.ts';
import { describeOnEachDatabase } from '../sync-server/test/test-databases.ts';
import { createHttpTransport } from '../web/src/sync/http-transport.ts';

/** A loopback proxy to `target` that counts the bytes sent each way. */
async function countingProxy(target: URL) {
  const counts = { up: 0, down: 0 };
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      counts.up += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      counts.down += chunk.length;
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Bytes each way while `work` runs (requests are sequential, so they are that work's). */
    async measure(work: () => Promise<unknown>) {
      const before = { ...counts };
      await work();
      return { request: counts.up - before.up, response: counts.down - before.down };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}

describeOnEachDatabase('an idle check-in on the wire', (database) => {
  let server: RunningApp;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  beforeAll(async () => {
    server = await startEmbeddedApp(database());
    proxy = await countingProxy(new URL(server.url));
  });
  afterAll(async () => {
    await proxy.close();
    await server.app.close();
  });

  it('[AU7] costs at most 1 kB with the sync token, request and response headers included', async () => {
    const body = JSON.stringify({
      email: `idle-${newId()}@example.org`,
      password: 'a long enough passphrase',
    });
    const send = (path: string) =>
      fetch(`${server.url}/auth/v1/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    // Sign-up answers the user without a session (SE45); the session comes from signing in.
    await send('signup');
    const signIn = await send('token?grant_type=password');
    const { access_token: accessToken } = (await signIn.json()) as { access_token: string };
    const transport = createHttpTransport({ baseUrl: proxy.url });
    const clientId = newId();
    // One change, so the device's cursor is past the version-0 rows a pull from 0 always carries (PL7).
    const at = Date.now();
    const pushed = await transport.push(
      {
        protocolVersion: PROTOCOL_VERSION,
        clientId,
        lane: 'user',
        sentAt: at,
        mutations: [
          {
            seq: 1,
            name: 'mood.upsert@1',
            args: { id: newId(), recordedAt: at, fields: { mood: 4 } },
            hlc: `${at}-0000-d1`,
            createdAt: at,
          },
        ],
      },
      accessToken,
    );
    expect(pushed.status).toBe(200);
    const idle = { protocolVersion: PROTOCOL_VERSION, clientId, cursor: 1 };

    // The push's answer carried the sync token: every check-in from here on sends it.
    let answer: unknown;
    const checkIn = await proxy.measure(async () => {
      answer = await transport.pull(idle, accessToken);
    });
    expect(answer).toMatchObject({ status: 200, body: { complete: true, cursor: 1 } });
    // What the same check-in costs with the access token (a fresh transport holds no sync token).
    const withJwt = await proxy.measure(() =>
      createHttpTransport({ baseUrl: proxy.url }).pull(idle, accessToken),
    );

    console.info(
      `idle check-in: ${checkIn.request} + ${checkIn.response} B with the sync token; ` +
        `${withJwt.request} + ${withJwt.response} B with the access token (${accessToken.length} characters)`,
    );
    expect(checkIn.request + checkIn.response).toBeLessThanOrEqual(1_000);
    expect(withJwt.request - checkIn.request).toBeGreaterThan(accessToken.length - 30);
  });
});
