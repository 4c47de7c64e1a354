import { describe, expect, it } from 'vitest';
import { createUploadVerifier, needsServerVerify, VERIFY_PATH } from './verify-upload.ts';

const METADATA = {
  bucketName: 'emergency',
  objectName: 'user-a/incident-b/audio-c.webm',
  sha256: 'ab'.repeat(32),
};

function fakeFetch(answer: () => Response | Promise<Response>) {
  const calls: { url: string; init: RequestInit }[] = [];
  const doFetch: typeof fetch = async (input, init) => {
    calls.push({ url: input instanceof Request ? input.url : input.toString(), init: init ?? {} });
    return answer();
  };
  return { calls, fetch: doFetch };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function verifier(answer: () => Response | Promise<Response>, token: string | null = 'tok') {
  const fake = fakeFetch(answer);
  const verify = createUploadVerifier({
    serverOrigin: 'https://app.example',
    getAccessToken: async () => token,
    fetch: fake.fetch,
  });
  return { verify, calls: fake.calls };
}

describe("the server's check of an upload to Supabase Storage", () => {
  it('tells Supabase uploads (auth on another origin) from the embedded server (same origin)', () => {
    expect(needsServerVerify('https://x.supabase.co/auth/v1', 'https://app.example')).toBe(true);
    expect(needsServerVerify('https://app.example/auth/v1', 'https://app.example')).toBe(false);
    expect(needsServerVerify('not a url', 'https://app.example')).toBe(false);
  });

  it('posts the upload metadata with the bearer token; only a 2xx is "uploaded"', async () => {
    const { verify, calls } = verifier(() => json(200, { id: 'x' }));
    expect(await verify(METADATA)).toEqual({ kind: 'uploaded' });
    expect(calls[0]?.url).toBe(`https://app.example${VERIFY_PATH}`);
    expect(calls[0]?.init.method).toBe('POST');
    expect(new Headers(calls[0]?.init.headers).get('authorization')).toBe('Bearer tok');
    expect(JSON.parse(calls[0]?.init.body as string)).toEqual(METADATA);
  });

  it('422 (hash or type; the server deleted the object) and 404 mean: send the file again', async () => {
    const mismatch = verifier(() => json(422, { error_code: 'hash_mismatch', message: 'SHA-256 differs.' }));
    expect(await mismatch.verify(METADATA)).toEqual({ kind: 'resend', message: 'SHA-256 differs.' });
    const missing = verifier(() => json(404, { error_code: 'not_found', message: 'object not found' }));
    expect(await missing.verify(METADATA)).toMatchObject({ kind: 'resend' });
  });

  it('no answer waits (offline), 5xx retries later, 401 asks for a token, other 4xx are final', async () => {
    const offline = verifier(() => Promise.reject(new TypeError('Failed to fetch')));
    expect(await offline.verify(METADATA)).toEqual({ kind: 'offline', error: 'Failed to fetch' });
    expect(
      await verifier(() => json(503, { error_code: 'verification_unavailable' })).verify(METADATA),
    ).toMatchObject({ kind: 'retry-later', status: 503 });
    expect(await verifier(() => json(401, { error_code: 'bad_jwt' })).verify(METADATA)).toEqual({
      kind: 'unauthorized',
    });
    expect(await verifier(() => json(200, {}), null).verify(METADATA)).toEqual({ kind: 'unauthorized' });
    expect(
      await verifier(() => json(403, { error_code: 'not_your_folder', message: 'not yours' })).verify(
        METADATA,
      ),
    ).toEqual({ kind: 'refused', status: 403, code: 'not_your_folder', message: 'not yours' });
  });
});
