import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { UuidV7 } from './common.ts';
import { SamplesAppendArgsV2 } from './mutators.ts';
import { MAX_SAMPLE_TIME_MS, newSampleBatchId, sampleIds, sampleTimes } from './sample-ids.ts';

/** The 48-bit timestamp of a UUIDv7. */
const timestampOf = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
/** The 74 random bits of a UUIDv7: rand_a (12) then rand_b (62), skipping the version and variant bits. */
function randomPartOf(id: string): bigint {
  const hex = id.replaceAll('-', '');
  const randA = BigInt(`0x${hex.slice(13, 16)}`);
  const randB = BigInt(`0x${hex.slice(16)}`) & ((1n << 62n) - 1n);
  return (randA << 62n) | randB;
}

describe('[CF13] sample ids of samples.append@2', () => {
  const batchId = '019a1b2c-3d4e-7abc-9def-0123456789ab';
  const t0 = 1_800_000_000_000;
  const dt = [0, 1_000, 1_000, 0, 250];

  it('derives one valid UUIDv7 per sample, stamped with the sample time, random part = the batch one + i', () => {
    const ids = sampleIds(batchId, t0, dt);
    expect(ids).toHaveLength(dt.length);
    expect(sampleTimes(t0, dt)).toEqual([t0, t0 + 1_000, t0 + 2_000, t0 + 2_000, t0 + 2_250]);
    ids.forEach((id, i) => {
      expect(z.safeParse(UuidV7, id).success, id).toBe(true);
      expect(id).toBe(id.toLowerCase());
      expect(id[14]).toBe('7');
      expect('89ab').toContain(id[19]);
      expect(timestampOf(id)).toBe(sampleTimes(t0, dt)[i]);
      expect(randomPartOf(id)).toBe(randomPartOf(batchId) + BigInt(i));
    });
    // Sample 0 with the batch id's own time is the batch id.
    expect(sampleIds(batchId, timestampOf(batchId), [0])).toEqual([batchId]);
  });

  it('is deterministic (a re-sent batch gets the same ids) and the ids of a batch are distinct', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => (i % 3 === 0 ? 0 : 1_000));
    const first = sampleIds(batchId, t0, many);
    expect(sampleIds(batchId.toUpperCase(), t0, many)).toEqual(first);
    expect(new Set(first).size).toBe(10_000);
    // Ids sort by sample time (same-time samples by index), as the sensor_readings primary key wants.
    expect([...first].sort()).toEqual(first);
  });

  it('wraps the 74 random bits around: the all-ones random part + 1 is all zeros', () => {
    const top = '019a1b2c-3d4e-7fff-bfff-ffffffffffff';
    const ids = sampleIds(top, t0, [0, 0, 0]);
    expect(ids.map(randomPartOf)).toEqual([(1n << 74n) - 1n, 0n, 1n]);
    ids.forEach((id) => expect(z.safeParse(UuidV7, id).success).toBe(true));
    expect(ids[1]).toBe('01a3185c-5000-7000-8000-000000000000');
    // A carry out of the low 32 bits reaches rand_a / rand_b's high bits.
    const carry = sampleIds('019a1b2c-3d4e-7000-8000-0000ffffffff', t0, [0, 0]);
    expect(carry.map(randomPartOf)).toEqual([0xffff_ffffn, 0x1_0000_0000n]);
  });

  it('refuses a batch id that is not a UUIDv7 or a time that does not fit 48 bits', () => {
    expect(() => sampleIds('not-a-uuid', t0, [0])).toThrow(/not a UUIDv7/);
    expect(() => sampleIds('019a1b2c-3d4e-4abc-9def-0123456789ab', t0, [0])).toThrow(/not a UUIDv7/);
    expect(sampleIds(batchId, MAX_SAMPLE_TIME_MS, [0])).toHaveLength(1);
    expect(() => sampleIds(batchId, MAX_SAMPLE_TIME_MS, [0, 1])).toThrow(/sample 1's time/);
    const parsed = z.safeParse(SamplesAppendArgsV2, {
      kind: 1,
      t0: MAX_SAMPLE_TIME_MS,
      id: batchId,
      dt: [0, 1],
      v: [1, 2],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/year 10889/);
  });

  it('makes batch ids that are UUIDv7s stamped with the given time and fresh random bits', () => {
    const ids = Array.from({ length: 1_000 }, () => newSampleBatchId(t0));
    for (const id of ids) {
      expect(z.safeParse(UuidV7, id).success, id).toBe(true);
      expect(timestampOf(id)).toBe(t0);
    }
    // No monotonic counter: ids of the same millisecond are not consecutive, and every random bit varies.
    const parts = ids.map(randomPartOf);
    expect(new Set(parts).size).toBe(1_000);
    const or = parts.reduce((a, b) => a | b, 0n);
    const and = parts.reduce((a, b) => a & b, (1n << 74n) - 1n);
    expect(or).toBe((1n << 74n) - 1n);
    expect(and).toBe(0n);
  });
});
