import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import { MAX_SIGNED_URL_SECONDS } from './signed-url-routes.ts';
import {
  fakeWebm,
  runUpload,
  sha256Hex,
  signUp,
  startStorageServer,
  type Account,
  type StorageServer,
} from '../../test/storage-test-kit.ts';

describeOnEachDatabase('signed download URLs (supabase-js storage client)', (database) => {
  let server: StorageServer;
  let ama: Account;
  let kofi: Account;
  let file: Buffer;
  let objectName: string;

  beforeAll(async () => {
    server = await startStorageServer(database());
    ama = await signUp(server);
    kofi = await signUp(server);
    file = fakeWebm(300_000);
    objectName = `user-${ama.userId}/notes/audio.webm`;
    await runUpload({
      baseUrl: server.url,
      token: ama.token,
      file,
      bucket: 'emergency',
      objectName,
      contentType: 'audio/webm',
    });
  });
  afterAll(() => server.close());

  it('signs a URL for the owner with createSignedUrl, and the URL downloads the exact file', async () => {
    const { data, error } = await ama.supabase.storage.from('emergency').createSignedUrl(objectName, 60);
    expect(error).toBeNull();
    expect(data?.signedUrl).toMatch(
      new RegExp(
        `^${server.url}/storage/v1/object/sign/emergency/${objectName}\\?token=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`,
      ),
    );
    const response = await fetch(data?.signedUrl ?? '');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('audio/webm');
    expect(response.headers.get('etag')).toBe(`"${sha256Hex(file)}"`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toMatch(/^private, max-age=(59|60)$/);
    expect(sha256Hex(Buffer.from(await response.arrayBuffer()))).toBe(sha256Hex(file));

    // Range requests (Safari plays audio only with them), and the download variant.
    const range = await fetch(data?.signedUrl ?? '', { headers: { range: 'bytes=100-199' } });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe(`bytes 100-199/${file.length}`);
    expect(Buffer.from(await range.arrayBuffer()).equals(file.subarray(100, 200))).toBe(true);
    const download = await ama.supabase.storage
      .from('emergency')
      .createSignedUrl(objectName, 60, { download: true });
    const attachment = await fetch(download.data?.signedUrl ?? '');
    expect(attachment.headers.get('content-disposition')).toBe('attachment; filename="audio.webm"');
    await attachment.arrayBuffer();
  });

  it('signs several at once with createSignedUrls, with an error for a missing one', async () => {
    const { data, error } = await ama.supabase.storage
      .from('emergency')
      .createSignedUrls([objectName, `user-${ama.userId}/nothing.webm`], 60);
    expect(error).toBeNull();
    expect(data?.[0]?.error).toBeNull();
    expect((await fetch(data?.[0]?.signedUrl ?? '')).status).toBe(200);
    expect(data?.[1]?.error).toContain('not found');
  });

  it('refuses an expired URL', async () => {
    const { data } = await ama.supabase.storage.from('emergency').createSignedUrl(objectName, 60);
    server.clock.ms += 61_000;
    try {
      const response = await fetch(data?.signedUrl ?? '');
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error_code: 'signed_url_expired' });
    } finally {
      server.clock.ms -= 61_000;
    }
  });

  it('refuses a forged token, and a token signed for another file', async () => {
    const { data } = await ama.supabase.storage.from('emergency').createSignedUrl(objectName, 60);
    const url = new URL(data?.signedUrl ?? '');
    const token = url.searchParams.get('token') ?? '';
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as { exp: number };
    const longer = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 86_400 })).toString('base64url');
    for (const forged of [
      `${header}.${longer}.${signature}`,
      `${header}.${payload}.${'A'.repeat(43)}`,
      'nonsense',
    ]) {
      url.searchParams.set('token', forged);
      const response = await fetch(url);
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error_code: 'invalid_signature' });
    }
    const elsewhere = new URL(`${server.url}/storage/v1/object/sign/emergency/user-${ama.userId}/other.webm`);
    elsewhere.searchParams.set('token', token);
    const moved = await fetch(elsewhere);
    expect(moved.status).toBe(403);
    expect(await moved.json()).toMatchObject({ error_code: 'invalid_signature' });
  });

  it("does not sign another user's file, and says not found rather than whose it is", async () => {
    const { data, error } = await kofi.supabase.storage.from('emergency').createSignedUrl(objectName, 60);
    expect(data).toBeNull();
    expect(error?.message).toContain('not found');
    const anonymous = await fetch(`${server.url}/storage/v1/object/sign/emergency/${objectName}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ expiresIn: 60 }),
    });
    expect(anonymous.status).toBe(401);
  });

  it('refuses a lifetime beyond the maximum', async () => {
    const { error } = await ama.supabase.storage
      .from('emergency')
      .createSignedUrl(objectName, MAX_SIGNED_URL_SECONDS + 1);
    expect(error?.message).toContain('expiresIn');
  });
});
