/**
 * mulberry32: a tiny seeded PRNG returning numbers in [0, 1). For reproducible test scenarios and benchmark data
 * (never for ids or secrets). One copy for the device tests, the server tests and the benchmarks.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
