import { randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { newId, type UserId } from '@vitalwatch/schema/ids';
import {
  emergencyContacts,
  emergencyIncidents,
  mediaFiles,
  moodEntries,
  sensorReadings,
} from '@vitalwatch/schema/db/tables';
import { provisionUser } from '../auth/identity.ts';
import { describeOnEachDatabase } from '../../test/test-databases.ts';

/** The database itself refuses the row, whatever code path tried to write it. */
async function expectCheckViolation(write: Promise<unknown>, constraint: string) {
  const error: unknown = await write.then(
    () => null,
    (e: unknown) => e,
  );
  const cause = typeof error === 'object' && error !== null && 'cause' in error ? error.cause : error;
  expect(cause).toMatchObject({ code: '23514', constraint });
}

describeOnEachDatabase('table constraints', (database) => {
  const owner = newId<UserId>();
  const other = newId<UserId>();
  beforeAll(async () => {
    await database().db.transaction(async (tx) => {
      await provisionUser(tx, { id: owner, email: 'o@example.org', phone: null, passwordHash: null });
      await provisionUser(tx, { id: other, email: 'p@example.org', phone: null, passwordHash: null });
    });
  });

  it('[DB5] client-created rows must have UUIDv7 ids', async () => {
    const { db } = database();
    await expectCheckViolation(
      db.insert(moodEntries).values({ id: randomUUID(), userId: owner, recordedAt: new Date(), mood: 3 }),
      'mood_entries_id_v7',
    );
    await db.insert(moodEntries).values({ id: newId(), userId: owner, recordedAt: new Date(), mood: 3 });
  });

  it('contacts need an E.164 phone number and a tier of 1–3', async () => {
    const { db } = database();
    await expectCheckViolation(
      db.insert(emergencyContacts).values({ userId: owner, name: 'Mum', phoneE164: '07700 900123' }),
      'emergency_contacts_phone_e164',
    );
    await expectCheckViolation(
      db
        .insert(emergencyContacts)
        .values({ userId: owner, name: 'Mum', phoneE164: '+447700900123', tier: 4 }),
      'emergency_contacts_tier',
    );
  });

  it('incident locations are real coordinates, given as a pair', async () => {
    const { db } = database();
    const incident = {
      userId: owner,
      code: 'B2C4',
      trigger: 'panic_button' as const,
      triggeredAt: new Date(),
    };
    await expectCheckViolation(
      db.insert(emergencyIncidents).values({ ...incident, latitude: 91, longitude: 0 }),
      'emergency_incidents_location',
    );
    await expectCheckViolation(
      db.insert(emergencyIncidents).values({ ...incident, latitude: 5.6 }),
      'emergency_incidents_location',
    );
  });

  it("a user's file must live under their own user-{id}/ path; system buckets have no owner", async () => {
    const { db } = database();
    const file = {
      bucket: 'emergency' as const,
      contentType: 'audio/mpeg',
      sizeBytes: 1,
      sha256: 'b'.repeat(64),
    };
    await expectCheckViolation(
      db
        .insert(mediaFiles)
        .values({ ...file, userId: owner, objectPath: `user-${other}/incident-x/audio.mp3` }),
      'media_files_owner_path',
    );
    await expectCheckViolation(
      db
        .insert(mediaFiles)
        .values({ ...file, userId: owner, objectPath: `user-${owner}/../user-${other}/a.mp3` }),
      'media_files_path_shape',
    );
    await expectCheckViolation(
      db
        .insert(mediaFiles)
        .values({ ...file, bucket: 'templates', userId: owner, objectPath: 'emergency-report-template.pdf' }),
      'media_files_owner_path',
    );
    await db
      .insert(mediaFiles)
      .values({ ...file, userId: owner, objectPath: `user-${owner}/incident-1/audio.mp3` });
  });

  it('sensor samples carry a known kind', async () => {
    const { db } = database();
    await expectCheckViolation(
      db
        .insert(sensorReadings)
        .values({ id: newId(), userId: owner, recordedAt: new Date(), kind: 99, value: 1 }),
      'sensor_readings_kind',
    );
  });
});
