/**
 * Synthetic sensor samples, in the columnar shape the bulk lane carries (docs/sync-design.md: `{ids, t, kind, v}`).
 * Ids are generated before timing starts: on the wire they come from the device, not from the server.
 */
import { newId } from '@vitalwatch/schema/ids';
import { SENSOR_KINDS } from '@vitalwatch/schema/db/safety';

export type SensorBatch = {
  ids: string[];
  recordedAtMs: number[];
  kinds: number[];
  values: number[];
};

/** 50,000 samples a day per user ("tens of thousands of rows per user per day", schema/src/db/safety.ts). */
export const SAMPLES_PER_DAY = 50_000;
export const DAY_MS = 86_400_000;

const HEART_RATE = SENSOR_KINDS.heart_rate_bpm;
const OTHER_KINDS = Object.values(SENSOR_KINDS).filter((kind) => kind !== HEART_RATE);

/** Every other sample is a heart rate, the rest cycle through the other kinds, so one kind is ~half the rows. */
export function kindOfSample(index: number): number {
  return index % 2 === 0 ? HEART_RATE : (OTHER_KINDS[(index >> 1) % OTHER_KINDS.length] ?? HEART_RATE);
}

/** `size` consecutive samples starting at sample number `firstIndex` of a stream that began at `streamStartMs`. */
export function makeBatch(
  random: () => number,
  streamStartMs: number,
  intervalMs: number,
  firstIndex: number,
  size: number,
): SensorBatch {
  const batch: SensorBatch = { ids: [], recordedAtMs: [], kinds: [], values: [] };
  for (let i = 0; i < size; i++) {
    const index = firstIndex + i;
    const kind = kindOfSample(index);
    batch.ids.push(newId());
    batch.recordedAtMs.push(streamStartMs + Math.round(index * intervalMs));
    batch.kinds.push(kind);
    batch.values.push(kind === HEART_RATE ? 55 + random() * 50 : random() * 100);
  }
  return batch;
}
