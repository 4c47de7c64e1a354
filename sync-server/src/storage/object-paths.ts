/**
 * Object paths, as in the seed: the bucket is separate (`emergency`) and the object name starts with the owner's
 * folder (`user-{id}/incident-{id}/audio.mp3`). Names are a few safe characters per segment, so a name is also a
 * safe relative file path under the store (no `..`, no absolute paths, no hidden files) and needs no escaping
 * in a URL.
 */
import { BUCKETS, SYSTEM_BUCKETS, type Bucket } from '@vitalwatch/schema/db/media';
import type { IncidentId, UserId } from '@vitalwatch/schema/ids';

export type ObjectRef = {
  bucket: Bucket;
  /** The object name inside the bucket, e.g. `user-…/incident-…/audio.mp3`. */
  path: string;
  /** From the `user-{id}` first segment; null only in system buckets. */
  ownerId: UserId | null;
  /** From a `incident-{id}` second segment in the `emergency` bucket. */
  incidentId: IncidentId | null;
};

export type PathProblem = { code: 'invalid_bucket' | 'invalid_object_name'; message: string };

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const USER_SEGMENT = new RegExp(`^user-(${UUID})$`);
const INCIDENT_SEGMENT = new RegExp(`^incident-(${UUID})$`);
const MAX_PATH = 1024;

export function isBucket(value: string): value is Bucket {
  return (BUCKETS as readonly string[]).includes(value);
}

export function isSystemBucket(bucket: Bucket): boolean {
  return (SYSTEM_BUCKETS as readonly string[]).includes(bucket);
}

/** Parses a bucket and object name from a client; a problem names what is wrong. */
export function parseObjectRef(bucket: string, path: string): ObjectRef | PathProblem {
  if (!isBucket(bucket)) {
    return { code: 'invalid_bucket', message: `bucket "${bucket}" does not exist (${BUCKETS.join(', ')})` };
  }
  const segments = path.split('/');
  const minSegments = isSystemBucket(bucket) ? 1 : 2;
  if (path.length > MAX_PATH || segments.length < minSegments || !segments.every((s) => SEGMENT.test(s))) {
    return {
      code: 'invalid_object_name',
      message:
        `object name "${path.slice(0, 100)}" must be "user-{id}/…/file": at least two segments of letters, digits, ` +
        `"-", "_" and "." (not starting with "."), at most ${MAX_PATH} characters`,
    };
  }
  if (isSystemBucket(bucket)) return { bucket, path, ownerId: null, incidentId: null };
  const owner = USER_SEGMENT.exec(segments[0] ?? '');
  if (owner?.[1] === undefined) {
    return {
      code: 'invalid_object_name',
      message: `objects in bucket "${bucket}" live under "user-{your user id}/", not "${segments[0] ?? ''}/"`,
    };
  }
  const incident =
    bucket === 'emergency' && segments.length > 2 ? INCIDENT_SEGMENT.exec(segments[1] ?? '') : null;
  return {
    bucket,
    path,
    ownerId: owner[1] as UserId,
    incidentId: (incident?.[1] ?? null) as IncidentId | null,
  };
}

export function isPathProblem(value: ObjectRef | PathProblem): value is PathProblem {
  return 'code' in value;
}
