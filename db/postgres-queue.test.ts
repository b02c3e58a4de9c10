// The postgres.js connection-state queues, as patched in patches/postgres@3.4.9.patch
// (upstream porsager/postgres issue 747). Unpatched, a queue that never fully drains keeps one
// hole per shift() and remove() scans them all, so every query costs a little more than the one
// before it. Checked directly on the queue, without timing anything: its backing array stays
// bounded however many push/shift/remove cycles it sees, and it still behaves as a FIFO.
import { afterEach, describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

type Queue<T> = { readonly length: number; push(x: T): T; shift(): T | undefined; remove(x: T): T | null };
type QueueFactory = <T>(initial?: T[]) => Queue<T>;

const require = createRequire(import.meta.url);
const esmEntry = require.resolve("postgres"); // Bun resolves the package's "bun" export: src/index.js
const builds: Record<string, string> = {
  "src (Bun, ESM)": join(dirname(esmEntry), "queue.js"),
  "cjs (Node require)": join(dirname(esmEntry), "..", "cjs", "src", "queue.js"),
};

// The queue's array is private; remove() calls indexOf on it, so the array's length is seen there.
const indexOf = Array.prototype.indexOf;
let seenLengths: number[] = [];
afterEach(() => {
  Array.prototype.indexOf = indexOf;
});
function watchBackingArray() {
  seenLengths = [];
  Array.prototype.indexOf = function (this: unknown[], ...args: Parameters<typeof indexOf>) {
    seenLengths.push(this.length);
    return indexOf.apply(this, args);
  };
}

async function load(path: string): Promise<QueueFactory> {
  const mod = (await import(path)) as { default: QueueFactory } | QueueFactory;
  return typeof mod === "function" ? mod : mod.default;
}

describe.each(Object.entries(builds))("postgres.js Queue, %s build", (_name, path) => {
  test("a queue that never drains keeps a bounded backing array, and remove() still finds the right element", async () => {
    const Queue = await load(path);
    const q = Queue<{ id: number }>([{ id: -2 }, { id: -1 }]); // never empty below
    const expectedOrder: number[] = [-2, -1];
    const shifted: number[] = [];
    watchBackingArray();
    for (let i = 0; i < 50_000; i++) {
      const a = { id: i * 2 };
      const b = { id: i * 2 + 1 };
      q.push(a);
      q.push(b);
      // A connection leaving a state mid-queue (connection.js moves connections between queues).
      expect(q.remove(b)).toBe(b);
      expect(q.remove({ id: -99 })).toBeNull();
      expectedOrder.push(a.id);
      shifted.push(q.shift()!.id);
      expect(q.length).toBe(2);
    }
    Array.prototype.indexOf = indexOf;
    // FIFO intact: everything shifted in push order, minus the removed ones.
    expect(shifted).toEqual(expectedOrder.slice(0, shifted.length));
    // Unpatched, the array reaches 100,000+ entries here; patched, it never exceeds a few.
    expect(Math.max(...seenLengths)).toBeLessThanOrEqual(8);
  });

  test("draining fully and shifting an empty queue still behave", async () => {
    const Queue = await load(path);
    const q = Queue<number>();
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
    q.push(1);
    q.push(2);
    expect(q.shift()).toBe(1);
    expect(q.remove(2)).toBe(2);
    expect(q.length).toBe(0);
    q.push(3);
    expect(q.shift()).toBe(3);
    expect(q.length).toBe(0);
  });
});
