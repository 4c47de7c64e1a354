/**
 * Where an evidence file lives on the server, in the seed's layout (sync-server/src/storage/object-paths.ts):
 * bucket `emergency`, object `user-{userId}/incident-{incidentId}/audio-{fileId}.webm` or
 * `user-{userId}/incident-{incidentId}/photos/photo-{fileId}.jpg`. The file id makes the name unique, so an
 * upload never needs `x-upsert` and an object already at the path can only be this file.
 */
import type { EvidenceKind } from './evidence-types.ts';

export const EVIDENCE_BUCKET = 'emergency';

export function evidenceObjectName(
  userId: string,
  file: { id: string; incidentId: string; kind: EvidenceKind },
  extension: string,
): string {
  const folder = `user-${userId}/incident-${file.incidentId}`;
  return file.kind === 'audio'
    ? `${folder}/audio-${file.id}.${extension}`
    : `${folder}/photos/photo-${file.id}.${extension}`;
}
