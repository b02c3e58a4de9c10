import { expect, test } from "bun:test";
import { createBreaker } from "./breaker.server";

const outage = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });

function breakerWith(probe: () => Promise<unknown>, failuresToOpen = 3) {
  return createBreaker({ name: "test", failuresToOpen, probeEveryMs: 20, probeTimeoutMs: 50, probe, whileOpen: "skipping it" });
}

test("opens after the given number of consecutive failures; a success in between starts the count again", () => {
  const b = breakerWith(() => new Promise(() => {}));
  b.failed(outage);
  b.failed(outage);
  b.succeeded();
  b.failed(outage);
  b.failed(outage);
  expect(b.isOpen()).toBe(false);
  b.failed(outage);
  expect(b.status()).toMatchObject({ state: "open", refused: 0 });
});

test("an open breaker probes in the background and closes on the first probe that passes", async () => {
  let calls = 0;
  const b = breakerWith(async () => {
    calls++;
    if (calls < 3) throw outage;
  }, 1);
  b.failed(outage);
  b.refused();
  expect(b.status()).toMatchObject({ state: "open", refused: 1 });
  await Bun.sleep(15);
  expect(b.status()).toMatchObject({ state: "open", lastProbeError: "ECONNREFUSED" });
  await Bun.sleep(100);
  expect(calls).toBe(3);
  expect(b.status()).toEqual({ state: "closed", openSince: null, refused: 0, lastProbeError: null });
});

test("a probe that hangs times out, and no second probe starts beside it until it settles", async () => {
  let started = 0;
  let release = () => {};
  const b = breakerWith(() => {
    started++;
    return started === 1 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
  }, 1);
  b.failed(outage);
  await Bun.sleep(200); // several probe intervals and timeouts
  expect([started, b.isOpen(), b.status().lastProbeError]).toEqual([1, true, "probe timed out"]);
  release();
  await Bun.sleep(60);
  expect([started, b.isOpen()]).toEqual([2, false]);
});
