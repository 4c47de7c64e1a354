/**
 * Metadata of every stored file. The file itself lives in the object store (Supabase Storage, or the sync
 * server's tus store under DATA_DIR); paths follow the seed's conventions with the first segment as the bucket:
 * bucket `emergency`, object `user-{id}/incident-{id}/audio.mp3`. User buckets keep every object under the
 * owner's `user-{id}/` prefix, which the database enforces; `templates` and `assets` are system buckets.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  doublePrecision,
  index,
  integer,
  pgEnum,
  pgTable,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { clientIdColumn, isUuidV7Check } from './ids.ts';
import { users } from './identity.ts';
import { emergencyIncidents } from './safety.ts';
import { ownRowsPolicy, syncColumns, timestamps } from './rls.ts';

export const BUCKETS = [
  'avatars',
  'documents',
  'exports',
  'emergency',
  'reports',
  'charts',
  'backups',
  'templates',
  'assets',
] as const;
export type Bucket = (typeof BUCKETS)[number];
export const SYSTEM_BUCKETS = ['templates', 'assets'] as const satisfies readonly Bucket[];

export const mediaBucket = pgEnum('media_bucket', BUCKETS);
export const uploadState = pgEnum('upload_state', ['pending', 'uploading', 'uploaded', 'verified', 'failed']);

export const mediaFiles = pgTable(
  'media_files',
  {
    id: clientIdColumn(),
    /** Null only for system buckets. */
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    incidentId: uuid('incident_id').references(() => emergencyIncidents.id, { onDelete: 'set null' }),
    bucket: mediaBucket('bucket').notNull(),
    objectPath: text('object_path').notNull(),
    contentType: text('content_type').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    /** SHA-256 the device computed at capture (hex); the server compares its own on completion. */
    sha256: text('sha256').notNull(),
    uploadState: uploadState('upload_state').notNull().default('pending'),
    bytesReceived: bigint('bytes_received', { mode: 'number' }).notNull().default(0),
    verifiedAt: timestamp('verified_at', { withTimezone: true }),
    capturedAt: timestamp('captured_at', { withTimezone: true }),
    latitude: doublePrecision('latitude'),
    longitude: doublePrecision('longitude'),
    accuracyMeters: real('accuracy_meters'),
    durationMs: integer('duration_ms'),
    ...syncColumns(),
    ...timestamps(),
  },
  (t) => [
    check('media_files_id_v7', isUuidV7Check(t.id)),
    check(
      'media_files_owner_path',
      sql`case when ${t.bucket} in (${sql.raw(SYSTEM_BUCKETS.map((b) => `'${b}'`).join(', '))})
        then ${t.userId} is null
        else ${t.userId} is not null and starts_with(${t.objectPath}, 'user-' || ${t.userId}::text || '/') end`,
    ),
    check(
      'media_files_path_shape',
      sql`${t.objectPath} !~ '(^/|\\.\\.|//)' and length(${t.objectPath}) <= 1024`,
    ),
    check('media_files_sha256', sql`${t.sha256} ~ '^[0-9a-f]{64}$'`),
    check('media_files_size', sql`${t.sizeBytes} >= 0 and ${t.bytesReceived} between 0 and ${t.sizeBytes}`),
    check('media_files_incident_bucket', sql`${t.incidentId} is null or ${t.bucket} = 'emergency'`),
    uniqueIndex('media_files_bucket_path_key').on(t.bucket, t.objectPath),
    index('media_files_incident_idx')
      .on(t.incidentId)
      .where(sql`${t.incidentId} is not null`),
    index('media_files_user_version_idx').on(t.userId, t.version),
    ownRowsPolicy(t.userId),
  ],
);
