/**
 * Sample ids of `samples.append@2` (SPEC CF13): the device sends ONE UUIDv7 per batch, and both sides derive each
 * sample's id from it, so the wire carries one id per batch instead of one per sample (issue #3).
 *
 * A UUIDv7 (RFC 9562) is `unix_ts_ms` (48 bits) | version 7 (4) | `rand_a` (12) | variant 0b10 (2) | `rand_b` (62);
 * call the 74 bits `rand_a · 2^62 + rand_b` its random part R. Sample i of a batch with id B gets the UUIDv7 whose
 * timestamp is the sample's own time, t0 + dt[0] + … + dt[i], and whose random part is (R(B) + i) mod 2^74.
 *
 * - Time-ordered: a sample id sorts by the sample's time, as a per-sample UUIDv7 did, so `sensor_readings`
 *   inserts stay append-mostly in the primary key.
 * - Distinct within a batch: a batch has at most 10,000 < 2^74 samples, so the random parts R + i differ.
 * - Idempotent: the ids depend only on (B, t0, dt), so a re-sent batch derives the same ids and
 *   `ON CONFLICT (id) DO NOTHING` skips every one of them (CF1).
 * - Unique across batches with the same odds as one random UUIDv7 per sample: when B's random part is uniform over
 *   2^74 values and independent of other batches', sample i of batch A and sample j of batch B (A ≠ B) share a
 *   random part only when R(A) − R(B) ≡ j − i (mod 2^74), which happens with probability exactly 2^-74, and they
 *   must also share a millisecond. Every pair of samples therefore collides with probability at most 2^-74, as two
 *   independently random UUIDv7s do, and the expected number of collisions is what `samples.append@1` had: at most
 *   (number of pairs of samples stamped with the same millisecond) / 2^74, e.g. under 3·10^-5 for 10^9 samples
 *   all in one millisecond, across every user (the primary key is global). The wrap mod 2^74 keeps R + i uniform,
 *   so it costs nothing.
 *
 * That argument needs R(B) fresh from a CSPRNG, which is why a batch id comes from `newSampleBatchId`, not from
 * `uuidv7()`: the `uuidv7` package's monotonic generator spends 42 of the 74 bits on a counter, so two ids made in
 * the same millisecond (a heart-rate and a steps batch flushed together) have random parts about 2^32 apart, not
 * independent ones.
 *
 * No runtime APIs (and no BigInt): the same code runs in the browser, the service worker and the server.
 */
import { UUID, uuidv4obj } from 'uuidv7';

/** The largest UUIDv7 timestamp (48 bits): a sample of a `samples.append@2` batch must be taken by then (year 10889). */
export const MAX_SAMPLE_TIME_MS = 2 ** 48 - 1;

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const TWO_32 = 2 ** 32;
/** The random part's bits above the low 32: rand_a (12) and rand_b's top 30. */
const TWO_42 = 2 ** 42;

/** The 74-bit random part of a UUIDv7 as (hi, lo): R = hi · 2^32 + lo, hi < 2^42, lo < 2^32. */
function randomPartOf(id: string): { hi: number; lo: number } {
  if (!UUID_V7.test(id)) throw new Error(`"${id}" is not a UUIDv7`);
  const hex = id.replaceAll('-', '');
  const randA = Number.parseInt(hex.slice(13, 16), 16);
  const randBHi = Number.parseInt(hex.slice(16, 24), 16) & 0x3fff_ffff;
  return { hi: randA * 2 ** 30 + randBHi, lo: Number.parseInt(hex.slice(24, 32), 16) };
}

/** Each sample's time: sample i was taken at t0 + dt[0] + … + dt[i]. */
export function sampleTimes(t0: number, dt: readonly number[]): number[] {
  let t = t0;
  return dt.map((step) => (t += step));
}

/** The last sample's time (dt steps are never negative, so also the latest). */
export function lastSampleTime(t0: number, dt: readonly number[]): number {
  return dt.reduce((t, step) => t + step, t0);
}

/**
 * The ids of a `samples.append@2` batch's samples, in order: sample i's is a UUIDv7 with the sample's time and the
 * batch id's random part + i (mod 2^74). Lower case. Throws when `batchId` is not a UUIDv7 or a time is not a whole
 * number of ms in 0..MAX_SAMPLE_TIME_MS (the protocol's schema refuses such batches before this runs).
 */
export function sampleIds(batchId: string, t0: number, dt: readonly number[]): string[] {
  const { hi, lo } = randomPartOf(batchId);
  return sampleTimes(t0, dt).map((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t > MAX_SAMPLE_TIME_MS) {
      throw new Error(`sample ${i}'s time ${t} does not fit a UUIDv7 timestamp`);
    }
    // i < 2^32 and lo < 2^32, so at most one carry into hi; hi wraps at 2^42, i.e. R + i wraps at 2^74.
    const sum = lo + i;
    const carry = sum >= TWO_32 ? 1 : 0;
    const h = (hi + carry) % TWO_42;
    return UUID.fromFieldsV7(t, Math.floor(h / 2 ** 30), h % 2 ** 30, sum - carry * TWO_32).toString();
  });
}

/**
 * A new batch id: a UUIDv7 stamped `ms` (when the device writes the batch) whose 74 random bits all come fresh from
 * the CSPRNG (the bits of a UUIDv4), never from a monotonic counter; see the header for why that matters.
 */
export function newSampleBatchId(ms: number): string {
  const b = uuidv4obj().bytes;
  const byte = (k: number) => b[k] ?? 0;
  const randA = ((byte(6) & 0x0f) << 8) | byte(7);
  const randBHi = ((byte(8) & 0x3f) << 24) | (byte(9) << 16) | (byte(10) << 8) | byte(11);
  const randBLo = ((byte(12) << 24) | (byte(13) << 16) | (byte(14) << 8) | byte(15)) >>> 0;
  return UUID.fromFieldsV7(ms, randA, randBHi, randBLo).toString();
}
