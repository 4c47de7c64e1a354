import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { startEmbeddedApp, type RunningApp } from '../../test/test-app.ts';

/** Short timeouts, so the test waits about a second, not the defaults' 20 s and more. */
const TIMEOUTS = { headersMs: 400, requestMs: 800, idleMs: 1_500, keepAliveMs: 500 };

/** Opens a connection, sends `bytes`, then nothing; resolves with what the server sent once it closes. */
function stallAfter(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

describeOnEachDatabase('slow clients are cut off', (database) => {
  let server: RunningApp;
  let port: number;
  beforeAll(async () => {
    server = await startEmbeddedApp(database(), { timeouts: TIMEOUTS });
    port = Number(new URL(server.url).port);
  });
  afterAll(() => server.app.close());

  it('[SE34] connections that send a few bytes of headers and stop are all closed, and the server still answers', async () => {
    // The case: 200 connections that sent 11 bytes and then nothing (here 50).
    const stalled = await Promise.all(Array.from({ length: 50 }, () => stallAfter(port, 'POST /sync/')));
    for (const received of stalled) expect(received).toMatch(/^(|HTTP\/1\.1 408 [\s\S]*)$/);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('[SE34] a body that stops arriving is cut off with 408 once the request time is up', async () => {
    const received = await stallAfter(
      port,
      'POST /auth/v1/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em',
    );
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('[SE34] an idle keep-alive connection is closed after its timeout', async () => {
    const received = await stallAfter(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).not.toMatch(/connection: close/i);
  });
});
