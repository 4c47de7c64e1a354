import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { unzipSync, strFromU8 } from 'fflate';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { activityLogs, mediaFiles, users } from '@vitalwatch/schema/db/tables';
import { describeOnEachDatabase } from '../../test/test-databases.ts';
import {
  countRows,
  startDataRightsServer,
  type DataRightsServer,
  type Person,
} from '../../test/data-rights-kit.ts';
import { DEFAULT_EXPORTS_PER_HOUR } from './data-rights-routes.ts';
import type { ArchiveManifest } from './user-archive.ts';

describeOnEachDatabase('"Download my data" (GDPR Art. 20)', (database) => {
  let kit: DataRightsServer;
  let ama: Person;
  let kofi: Person;

  beforeAll(async () => {
    kit = await startDataRightsServer(database());
    ama = await kit.person();
    kofi = await kit.person();
  });
  afterAll(() => kit.close());

  const download = (token: string) =>
    kit.server.app.inject({
      method: 'GET',
      url: '/account/export',
      headers: { authorization: `Bearer ${token}` },
    });

  it('[DR2][DR3] one ZIP: every row of the user in every table as JSON, every stored file, nobody else’s data', async () => {
    const response = await download(ama.token);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/zip');
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="vitalwatch-my-data-\d{4}-\d\d-\d\d\.zip"$/,
    );
    const entries = unzipSync(new Uint8Array(response.rawPayload));
    const counts = await countRows(database().db, ama.userId);

    const manifest = JSON.parse(strFromU8(entries['manifest.json'] ?? new Uint8Array())) as ArchiveManifest;
    expect(manifest.userId).toBe(ama.userId);
    expect(manifest.tables).toEqual(counts);
    let everything = '';
    for (const [table, count] of Object.entries(counts)) {
      const text = strFromU8(entries[`tables/${table}.json`] ?? new Uint8Array());
      const rows = JSON.parse(text) as Record<string, unknown>[];
      expect(rows, table).toHaveLength(count);
      everything += text;
    }
    expect(everything).toContain('a private note');
    expect(everything).toContain(ama.email);
    expect(everything).not.toContain(kofi.userId);
    expect(everything).not.toContain(kofi.email);

    // Secrets are left out, saying so.
    const [user] = JSON.parse(strFromU8(entries['tables/users.json'] ?? new Uint8Array())) as Array<
      Record<string, unknown>
    >;
    expect(user?.password_hash).toMatch(/^\[left out: a hash of your password/);
    const [stored] = await database()
      .db.select({ hash: users.passwordHash })
      .from(users)
      .where(eq(users.id, ama.userId));
    expect(everything).not.toContain(stored?.hash ?? 'no hash');
    const [link] = JSON.parse(strFromU8(entries['tables/alert_links.json'] ?? new Uint8Array())) as Array<
      Record<string, unknown>
    >;
    expect(link?.token).toMatch(/^\[left out: /);
    expect(everything).not.toContain(ama.seeded.linkToken);

    // The files, byte for byte (the server's hash of each upload).
    const files = await database()
      .db.select({ path: mediaFiles.objectPath, sha256: mediaFiles.sha256 })
      .from(mediaFiles)
      .where(eq(mediaFiles.userId, ama.userId));
    expect(files).toHaveLength(2);
    for (const file of files) {
      const bytes = entries[`files/embedded/emergency/${file.path}`];
      expect(bytes, file.path).toBeDefined();
      expect(
        createHash('sha256')
          .update(bytes ?? new Uint8Array())
          .digest('hex'),
      ).toBe(file.sha256);
    }
    expect(manifest.files.map((f) => f.path).sort()).toEqual(files.map((f) => f.path).sort());
    expect(Object.keys(entries).filter((name) => name.startsWith('files/'))).toHaveLength(2);
  });

  it('[DR4] a download is logged as an access, needs the user’s token, and is limited per hour', async () => {
    const logged = await database()
      .db.select({ id: activityLogs.id })
      .from(activityLogs)
      .where(and(eq(activityLogs.userId, ama.userId), eq(activityLogs.action, 'account.export')));
    expect(logged).toHaveLength(1);
    expect((await kit.server.app.inject({ method: 'GET', url: '/account/export' })).statusCode).toBe(401);

    for (let i = 1; i < DEFAULT_EXPORTS_PER_HOUR; i += 1)
      expect((await download(ama.token)).statusCode).toBe(200);
    const refused = await download(ama.token);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    // Another account is not held up by Ama's downloads.
    expect((await download(kofi.token)).statusCode).toBe(200);
  });
});
