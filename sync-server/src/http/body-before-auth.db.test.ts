import net from 'node:net';
import zlib from 'node:zlib';
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mutationErrors, syncClients } from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { startEmbeddedApp, type RunningApp } from '../../test/test-app.ts';

/** 8 MiB of zeros gzip to ~8 KiB: the shape of the "zip bomb". */
const BOMB = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024));
/** Claims to be gzip and is not: a route that inflated it would answer 400 malformed_gzip. */
const NOT_GZIP = Buffer.from('this is not gzip at all, and inflating it fails at once');

describeOnEachDatabase('authentication before the body', (database) => {
  let server: RunningApp;
  beforeAll(async () => {
    server = await startEmbeddedApp(database());
  });
  afterAll(() => server.app.close());

  it('[SE31] an anonymous or badly signed gzip body to the sync routes gets 401 and is never inflated', async () => {
    expect(BOMB.length).toBeLessThan(16 * 1024);
    const tokens = [null, 'not-a-jwt', 'vws_AAAAAAAAAAAAAAAAAAAAAA'];
    for (const url of ['/sync/push', '/sync/pull']) {
      for (const body of [NOT_GZIP, BOMB]) {
        for (const token of tokens) {
          const response = await server.app.inject({
            method: 'POST',
            url,
            payload: body,
            headers: {
              'content-type': 'application/json',
              'content-encoding': 'gzip',
              ...(token !== null && { authorization: `Bearer ${token}` }),
            },
          });
          expect(response.statusCode, `${url} ${token}`).toBe(401);
          expect(response.json<{ error_code: string }>().error_code).toMatch(
            /^(no_authorization|bad_jwt|sync_token_invalid)$/,
          );
        }
      }
    }
    expect(await database().db.select({ n: count() }).from(syncClients)).toEqual([{ n: 0 }]);
    expect(await database().db.select({ n: count() }).from(mutationErrors)).toEqual([{ n: 0 }]);
  });

  it('[SE31] every other route that needs a token answers 401 before it reads the body', async () => {
    for (const [method, url] of [
      ['PATCH', '/api/v1/me'],
      ['POST', '/auth/v1/logout'],
    ] as const) {
      const response = await server.app.inject({
        method,
        url,
        payload: '{"display_name": "broken JSON',
        headers: { 'content-type': 'application/json' },
      });
      expect(response.statusCode, url).toBe(401);
    }
  });

  it('[SE31] over a real socket, an anonymous push is answered 401 before its body has arrived', async () => {
    const { port } = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (received.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on('error', reject);
      // Headers for an 8 MiB body, then only its first bytes: the answer must not wait for the rest.
      socket.write(
        'POST /sync/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Content-Encoding: gzip\r\nContent-Length: 8388608\r\n\r\n',
      );
      socket.write(BOMB.subarray(0, 1024));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
  });
});
