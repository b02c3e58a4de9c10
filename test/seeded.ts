// Seeded randomness for property tests, so a failure can be replayed: each run draws a seed (or
// takes TEST_SEED), a failure prints it, and `TEST_SEED=<seed> sh scripts/bun.sh test <file>`
// generates the same cases again.

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same sequence in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** TEST_SEED when set (an unsigned 32-bit integer), otherwise a fresh seed. */
export function testSeed(env: string | undefined = process.env.TEST_SEED): number {
  if (env === undefined || env === "") return crypto.getRandomValues(new Uint32Array(1))[0];
  const seed = Number(env);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new Error(`TEST_SEED must be an integer from 0 to 4294967295, not "${env}"`);
  return seed;
}

/**
 * Runs `property` with a seeded `random` (see testSeed). When it fails, the seed and how to replay
 * it are printed just before the failure (the error itself passes through untouched, so the test
 * output still points at the failing expect).
 */
export function withSeed(property: (random: () => number, seed: number) => void): void {
  const seed = testSeed();
  let passed = false;
  try {
    property(mulberry32(seed), seed);
    passed = true;
  } finally {
    if (!passed) console.error(`property failed with seed ${seed}: replay with TEST_SEED=${seed}`);
  }
}
