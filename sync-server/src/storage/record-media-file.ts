/**
 * The `media_files` row of a verified upload, written under the uploader's RLS (`withUser`), in the same
 * transaction as the step that publishes the file (`publish`), so a row never names a file that is not there and
 * a second writer of the same path waits on the row lock until the first has both committed and renamed.
 *
 * The row takes a version from `user_versions` like every other write to a synced table (ARCHITECTURE "every
 * writer of a pulled table must stamp a version"): `media_files` is not pulled in protocol 1, but when it is, rows
 * written here already carry versions.
 */
import { and, eq, isNotNull, isNull } from 'drizzle-orm';
import { emergencyIncidents, mediaFiles } from '@vitalwatch/schema/db/tables';
import type { IncidentId, MediaFileId, UserId } from '@vitalwatch/schema/ids';
import type { Db } from '../db/database.ts';
import { withUser, type RequestClaims } from '../db/with-user.ts';
import { nextUserVersion } from '../db/user-version.ts';
import { HttpError } from '../http/http-error.ts';
import { isUniqueViolation } from '../auth/embedded-auth-routes.ts';
import type { ObjectRef } from './object-paths.ts';

export type VerifiedFile = {
  id: MediaFileId;
  object: ObjectRef;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  upsert: boolean;
  capturedAt: Date | null;
  latitude: number | null;
  longitude: number | null;
  accuracyMeters: number | null;
  durationMs: number | null;
};

export type RecordedFile = { id: MediaFileId; version: number; incidentLinked: boolean };

export async function recordMediaFile(
  db: Db,
  claims: RequestClaims,
  file: VerifiedFile,
  now: Date,
  publish: () => Promise<void>,
): Promise<RecordedFile> {
  const userId: UserId = claims.sub;
  try {
    return await withUser(db, claims, async (tx) => {
      // The incident may not have reached the server yet (the upload raced the push of the SOS). Then the row is
      // kept without the link; the path still names the incident.
      let incidentId: IncidentId | null = null;
      if (file.object.incidentId !== null) {
        const [incident] = await tx
          .select({ id: emergencyIncidents.id })
          .from(emergencyIncidents)
          .where(eq(emergencyIncidents.id, file.object.incidentId));
        incidentId = (incident?.id ?? null) as IncidentId | null;
      }

      const version = await nextUserVersion(tx, userId);

      const values = {
        incidentId,
        contentType: file.contentType,
        sizeBytes: file.sizeBytes,
        sha256: file.sha256,
        uploadState: 'verified' as const,
        bytesReceived: file.sizeBytes,
        verifiedAt: now,
        capturedAt: file.capturedAt,
        latitude: file.latitude,
        longitude: file.longitude,
        accuracyMeters: file.accuracyMeters,
        durationMs: file.durationMs,
        version,
        deletedAt: null,
        updatedAt: now,
      };
      const [row] = await tx
        .insert(mediaFiles)
        .values({ ...values, id: file.id, userId, bucket: file.object.bucket, objectPath: file.object.path })
        .onConflictDoUpdate({
          target: [mediaFiles.bucket, mediaFiles.objectPath],
          set: values,
          // Without x-upsert only a deleted (tombstoned) object may be written again.
          ...(file.upsert ? {} : { setWhere: isNotNull(mediaFiles.deletedAt) }),
        })
        .returning({ id: mediaFiles.id });
      if (row === undefined) throw alreadyExists(file.object);

      await publish();
      return { id: row.id as MediaFileId, version, incidentLinked: incidentId !== null };
    });
  } catch (error) {
    // The only other unique key is the id: a device reused a media id for a second path.
    if (isUniqueViolation(error)) {
      throw new HttpError(409, 'media_id_taken', `media id ${file.id} already names another file`);
    }
    throw error;
  }
}

export function alreadyExists(object: { bucket: string; path: string }): HttpError {
  return new HttpError(
    409,
    'already_exists',
    `${object.bucket}/${object.path} already exists: send "x-upsert: true" to replace it`,
  );
}

/** Whether a live (not deleted) object is recorded at this path, as the caller sees it. */
export async function mediaFileExists(
  db: Db,
  claims: RequestClaims,
  object: { bucket: ObjectRef['bucket']; path: string },
): Promise<boolean> {
  const rows = await withUser(db, claims, (tx) =>
    tx.select({ id: mediaFiles.id }).from(mediaFiles).where(isLiveObject(object)),
  );
  return rows.length > 0;
}

/** The media_files row of a stored object that has not been deleted. */
export function isLiveObject(object: { bucket: ObjectRef['bucket']; path: string }) {
  return and(
    eq(mediaFiles.bucket, object.bucket),
    eq(mediaFiles.objectPath, object.path),
    isNull(mediaFiles.deletedAt),
  );
}
