// The property tests' seeded randomness: the same seed replays the same cases, TEST_SEED picks it.
import { expect, test } from "bun:test";
import { mulberry32, testSeed } from "./seeded";

test("the same seed gives the same sequence in [0, 1); another seed another one", () => {
  const draw = (seed: number) => Array.from({ length: 1000 }, mulberry32(seed));
  const a = draw(42);
  expect(draw(42)).toEqual(a);
  expect(draw(43)).not.toEqual(a);
  expect(a.every((x) => x >= 0 && x < 1)).toBe(true);
  expect(new Set(a).size).toBe(a.length);
});

test("TEST_SEED is taken as given; without it each run draws a seed; a bad one is refused by name", () => {
  expect(testSeed("0")).toBe(0);
  expect(testSeed("4294967295")).toBe(4_294_967_295);
  expect(Number.isInteger(testSeed(undefined))).toBe(true);
  expect(Number.isInteger(testSeed(""))).toBe(true);
  for (const bad of ["-1", "1.5", "abc", "4294967296"]) expect(() => testSeed(bad)).toThrow("TEST_SEED");
});
