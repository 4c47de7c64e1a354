/**
 * Audio evidence with MediaRecorder: ask for the microphone, record in a format the server stores
 * (evidence-types.ts RECORDER_MIME_TYPES, best first: WebM/Opus in Chromium and Firefox, MP4/AAC in Safari) at a
 * low bitrate (32 kbit/s: ten minutes ≈ 2.4 MB, reasonable over 2G), stop on the user's word or after
 * `maxSeconds`, then hash, store and nudge the upload queue.
 *
 * Failures the user can act on (no permission, no microphone, no MediaRecorder) are `CaptureError`s with a
 * message for the screen.
 */
import { RECORDER_MIME_TYPES } from './evidence-types.ts';
import type { CaptureLocation, MediaDb, MediaFileRow } from './media-db.ts';
import { storeCapture } from './media-store.ts';

/** A capture that could not start or finish; `message` is written for the user. */
export class CaptureError extends Error {
  override readonly name = 'CaptureError';
}

export const AUDIO_BITS_PER_SECOND = 32_000;
/** The longest recording (the auto-record setting's maximum too). */
export const MAX_RECORDING_SECONDS = 600;

export function chooseRecorderMimeType(isTypeSupported: (type: string) => boolean): string | null {
  return RECORDER_MIME_TYPES.find((type) => isTypeSupported(type)) ?? null;
}

function microphoneProblem(error: unknown): CaptureError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return new CaptureError('Microphone access was refused. Allow it in the browser settings to record.');
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return new CaptureError('No microphone was found on this device.');
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return new CaptureError('The microphone is in use by another app.');
  }
  return new CaptureError('The microphone could not be started.', { cause: error });
}

export interface RecordAudioOptions {
  readonly media: MediaDb;
  readonly incidentId: string;
  readonly maxSeconds: number;
  readonly location: CaptureLocation | null;
  readonly userId: string | null;
  /** Called once the recording is stored (the upload queue's nudge). */
  readonly onStored: (row: MediaFileRow) => void;
  readonly now?: () => number;
}

export interface AudioRecording {
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly maxSeconds: number;
  /** Stops recording; `stored` settles once the file is kept. */
  stop(): void;
  /** The stored file; rejects with MediaStorageFullError, MediaStoreError or CaptureError. */
  readonly stored: Promise<MediaFileRow>;
}

export async function recordAudio(options: RecordAudioOptions): Promise<AudioRecording> {
  const now = options.now ?? (() => Date.now());
  if (typeof MediaRecorder === 'undefined' || typeof navigator.mediaDevices?.getUserMedia !== 'function') {
    throw new CaptureError('This browser cannot record audio.');
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    throw microphoneProblem(error);
  }
  const mimeType = chooseRecorderMimeType((type) => MediaRecorder.isTypeSupported(type));
  let recorder: MediaRecorder;
  try {
    recorder = new MediaRecorder(stream, {
      audioBitsPerSecond: AUDIO_BITS_PER_SECOND,
      ...(mimeType !== null && { mimeType }),
    });
  } catch (error) {
    for (const track of stream.getTracks()) track.stop();
    throw new CaptureError('This browser cannot record audio in a format the server stores.', {
      cause: error,
    });
  }

  const maxSeconds = Math.max(1, Math.min(MAX_RECORDING_SECONDS, options.maxSeconds));
  const chunks: Blob[] = [];
  const startedAt = now();
  const stop = () => {
    clearTimeout(limit);
    if (recorder.state !== 'inactive') recorder.stop();
  };
  const stored = new Promise<MediaFileRow>((resolve, reject) => {
    recorder.addEventListener('dataavailable', (event) => {
      if (event.data.size > 0) chunks.push(event.data);
    });
    recorder.addEventListener('stop', () => {
      clearTimeout(limit);
      for (const track of stream.getTracks()) track.stop();
      const durationMs = now() - startedAt;
      const blob = new Blob(chunks, { type: recorder.mimeType || mimeType || 'audio/webm' });
      if (blob.size === 0) {
        reject(new CaptureError('Nothing was recorded.'));
        return;
      }
      storeCapture(options.media, {
        incidentId: options.incidentId,
        kind: 'audio',
        blob,
        capturedAt: startedAt,
        durationMs,
        location: options.location,
        userId: options.userId,
      }).then(({ row }) => {
        options.onStored(row);
        resolve(row);
      }, reject);
    });
  });
  // Chunks every second: a stop right after a crash of the recorder still has what came before.
  recorder.start(1_000);
  const limit = setTimeout(stop, maxSeconds * 1000);
  return { startedAt, maxSeconds, stop, stored };
}
