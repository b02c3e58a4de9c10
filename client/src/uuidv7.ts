// UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids sort by
// creation time. Within one millisecond a 12-bit counter keeps them increasing in this process.
// Randomness comes from the Web Crypto API (crypto.getRandomValues): no dependency.

type RandomSource = (bytes: Uint8Array) => Uint8Array;

let random: RandomSource | null = webCryptoSource();

function webCryptoSource(): RandomSource | null {
  const c = (globalThis as { crypto?: { getRandomValues?: (b: Uint8Array) => Uint8Array } }).crypto;
  return c?.getRandomValues ? (bytes) => c.getRandomValues!(bytes) : null;
}

/**
 * Node 18 has no global `crypto` (it arrived in Node 19); its `node:crypto` module has the same
 * Web Crypto API. The specifier is a variable so that bundlers for edge runtimes leave it alone.
 */
export async function ensureRandomSource(): Promise<void> {
  if (random) return;
  const specifier = "node:crypto";
  const mod = (await import(specifier)) as { webcrypto: { getRandomValues: (b: Uint8Array) => Uint8Array } };
  random = (bytes) => mod.webcrypto.getRandomValues(bytes);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A UUIDv7 maker with its own clock and counter (tests give it a fixed clock). */
export function uuidv7Generator(clock: () => number = Date.now): () => string {
  let lastMs = -1;
  let counter = 0;
  return () => {
    if (!random) throw new Error("No crypto.getRandomValues in this runtime: call `await ensureRandomSource()` first.");
    const bytes = random(new Uint8Array(16));
    let ms = Math.max(clock(), lastMs);
    if (ms === lastMs) {
      counter++;
      if (counter > 0xfff) {
        ms++; // the counter is spent: borrow the next millisecond, as RFC 9562 allows
        counter = bytes[6] & 0x07;
      }
    } else {
      counter = ((bytes[6] & 0x07) << 8) | bytes[7]; // a random start leaves room to count up
    }
    lastMs = ms;
    // 48-bit big-endian timestamp; division keeps it exact beyond 32 bits.
    const high = Math.floor(ms / 0x100000000);
    const low = ms >>> 0;
    bytes[0] = (high >>> 8) & 0xff;
    bytes[1] = high & 0xff;
    bytes[2] = (low >>> 24) & 0xff;
    bytes[3] = (low >>> 16) & 0xff;
    bytes[4] = (low >>> 8) & 0xff;
    bytes[5] = low & 0xff;
    bytes[6] = 0x70 | ((counter >>> 8) & 0x0f); // version 7 + counter high bits
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | (bytes[8] & 0x3f); // variant 10
    let out = "";
    for (let i = 0; i < 16; i++) out += (i === 4 || i === 6 || i === 8 || i === 10 ? "-" : "") + HEX[bytes[i]];
    return out;
  };
}

/** A fresh UUIDv7, e.g. `01936f4e-8a2b-7c3d-9e4f-0a1b2c3d4e5f`, increasing within this process. */
export const uuidv7: () => string = uuidv7Generator();
