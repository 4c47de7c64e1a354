/**
 * The records both sync systems carry in sync-compare-bench.ts: the same ids, times and values for ours and for
 * PouchDB. Ids are UUIDv7 stamped with the record's own time (as a device makes them when the record is taken),
 * so they compress as real ids would; their 74 random bits come from the system's CSPRNG.
 */
import { getRandomValues } from 'node:crypto';
import type { MutatorArgs } from '@vitalwatch/schema/protocol/mutators';
import { sampleIds } from '@vitalwatch/schema/protocol/sample-ids';
import { SENSOR_KINDS } from '@vitalwatch/schema/db/safety';

/** A UUIDv7 whose timestamp is `ms`. */
export function uuidv7At(ms: number): string {
  const bytes = getRandomValues(new Uint8Array(16));
  const time = ms.toString(16).padStart(12, '0').slice(-12);
  for (let i = 0; i < 6; i++) bytes[i] = Number.parseInt(time.slice(i * 2, i * 2 + 2), 16);
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const EMOTIONS = ['calm', 'tired', 'anxious', 'hopeful', 'irritable', 'sad', 'content', 'overwhelmed'];
const NOTES = [
  'Slept badly, better after a walk.',
  'Work was stressful, talked to Sam in the evening.',
  'Good day. Went running.',
  'Headache most of the afternoon.',
  'Felt low in the morning, used the breathing exercise.',
  'Busy but fine.',
  'Argument at home, calmer now.',
  'Saw friends, laughed a lot.',
];

export type MoodRecord = MutatorArgs<'mood.upsert@1'>;

/**
 * `count` mood entries one per 4 hours up to `endMs`, every scale set (as the app's form saves them), 0–3
 * emotions, and a note on two entries in three. `random` (seeded) picks the values, so every run and both
 * systems carry the same content.
 */
export function moodRecords(count: number, endMs: number, random: () => number): MoodRecord[] {
  const pick = (n: number) => Math.floor(random() * n);
  return Array.from({ length: count }, (_, i) => {
    const recordedAt = endMs - (count - i) * 4 * 3_600_000;
    const emotions = Array.from({ length: pick(4) }, () => EMOTIONS[pick(EMOTIONS.length)] ?? 'calm');
    return {
      id: uuidv7At(recordedAt),
      recordedAt,
      fields: {
        mood: 1 + pick(5),
        energy: 1 + pick(5),
        anxiety: 1 + pick(5),
        sleepHours: 4 + pick(13) * 0.5,
        emotions: [...new Set(emotions)],
        note: pick(3) === 0 ? null : (NOTES[pick(NOTES.length)] ?? null),
      },
    };
  });
}

/** A `samples.append@2` batch: one id per chunk; each sample's id derives from it (`chunkSampleIds`). */
export type SampleChunk = MutatorArgs<'samples.append@2'>;

/** The ids the server stores a chunk's samples under (SPEC CF13), for a peer that needs one id per sample. */
export function chunkSampleIds(chunk: SampleChunk): string[] {
  return sampleIds(chunk.id, chunk.t0, chunk.dt);
}

/**
 * Heart rate, one sample a second (a BLE strap), integer bpm on a random walk, in chunks of `perChunk`, each under
 * one UUIDv7 stamped with its last sample's time (when a device would write the batch).
 */
export function heartRateChunks(
  count: number,
  perChunk: number,
  startMs: number,
  random: () => number,
): SampleChunk[] {
  const chunks: SampleChunk[] = [];
  let bpm = 72;
  for (let first = 0; first < count; first += perChunk) {
    const size = Math.min(perChunk, count - first);
    const t0 = startMs + first * 1_000;
    const dt: number[] = [];
    const v: number[] = [];
    for (let i = 0; i < size; i++) {
      bpm = Math.min(170, Math.max(45, bpm + Math.round((random() - 0.5) * 4)));
      dt.push(i === 0 ? 0 : 1_000);
      v.push(bpm);
    }
    const id = uuidv7At(t0 + (size - 1) * 1_000);
    chunks.push({ kind: SENSOR_KINDS.heart_rate_bpm, t0, id, dt, v });
  }
  return chunks;
}
