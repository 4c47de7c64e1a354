/**
 * A local stand-in for Supabase Storage's object API as the server calls it with the service key, over real HTTP
 * (SUPABASE_URL): `GET /storage/v1/object/{bucket}/{path}` (the bytes, with the stored content type),
 * `DELETE /storage/v1/object/{bucket}/{path}` (`{"message":"Successfully deleted"}`), and
 * `POST /storage/v1/object/sign/{bucket}/{path}` `{expiresIn}` → `{"signedURL":"/object/sign/{bucket}/{path}?token=…"}`.
 * Errors have Supabase's legacy shape: HTTP 400 with `{"statusCode":"404","error":"not_found","message":"Object not
 * found"}`, and `{"statusCode":"403","error":"Unauthorized",…}` when the bearer or apikey is not the service key.
 *
 * Tests put objects in directly (`put`), as a device's tus upload to Supabase would, and read what the server did
 * through `objects` and `requests`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeObject = { bytes: Buffer; contentType: string };

export type FakeSupabaseStorage = {
  /** SUPABASE_URL. */
  url: string;
  serviceKey: string;
  /** `bucket/path` → the object (live). */
  objects: Map<string, FakeObject>;
  /** `METHOD /path` of every request, in arrival order (live). */
  requests: string[];
  put(bucket: string, path: string, bytes: Buffer, contentType: string): void;
  close(): Promise<void>;
};

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function storageError(res: ServerResponse, statusCode: number, error: string, message: string) {
  send(res, 400, { statusCode: String(statusCode), error, message });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
}

export async function startFakeSupabaseStorage(): Promise<FakeSupabaseStorage> {
  const serviceKey = `service-${randomBytes(8).toString('hex')}`;
  const objects = new Map<string, FakeObject>();
  const requests: string[] = [];

  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(`${req.method ?? ''} ${path}`);
    void (async () => {
      if (req.headers.authorization !== `Bearer ${serviceKey}` || req.headers.apikey !== serviceKey) {
        return storageError(res, 403, 'Unauthorized', 'invalid signature');
      }
      const sign = /^\/storage\/v1\/object\/sign\/([^/]+)\/(.+)$/.exec(path);
      const object = /^\/storage\/v1\/object\/([^/]+)\/(.+)$/.exec(path);
      if (sign !== null && req.method === 'POST') {
        const key = `${sign[1]}/${sign[2]}`;
        const body = (await readJson(req)) as { expiresIn?: unknown };
        if (typeof body.expiresIn !== 'number' || body.expiresIn < 1) {
          return storageError(res, 400, 'InvalidRequest', 'body must have required property expiresIn');
        }
        if (!objects.has(key)) return storageError(res, 404, 'not_found', 'Object not found');
        const token = Buffer.from(JSON.stringify({ url: key, exp: body.expiresIn })).toString('base64url');
        return send(res, 200, { signedURL: `/object/sign/${key}?token=fake.${token}.sig` });
      }
      if (object !== null && sign === null) {
        const key = `${object[1]}/${object[2]}`;
        const stored = objects.get(key);
        if (req.method === 'GET') {
          if (stored === undefined) return storageError(res, 404, 'not_found', 'Object not found');
          res.writeHead(200, { 'content-type': stored.contentType, 'content-length': stored.bytes.length });
          return res.end(stored.bytes);
        }
        if (req.method === 'DELETE') {
          if (stored === undefined) return storageError(res, 404, 'not_found', 'Object not found');
          objects.delete(key);
          return send(res, 200, { message: 'Successfully deleted' });
        }
      }
      return send(res, 404, { statusCode: '404', error: 'not_found', message: 'route not found' });
    })().catch((error: unknown) =>
      send(res, 500, { statusCode: '500', error: 'internal', message: String(error) }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serviceKey,
    objects,
    requests,
    put(bucket, path, bytes, contentType) {
      objects.set(`${bucket}/${path}`, { bytes, contentType });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
