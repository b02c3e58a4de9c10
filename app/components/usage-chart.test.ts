import { expect, test } from "bun:test";
import { roundTicks } from "./usage-chart";

test("axis ticks are round numbers from 0 that cover the top value", () => {
  expect(roundTicks(55_001)).toEqual([0, 20_000, 40_000, 60_000]);
  expect(roundTicks(1_000)).toEqual([0, 250, 500, 750, 1_000]);
  expect(roundTicks(50_000)).toEqual([0, 20_000, 40_000, 60_000]);
  expect(roundTicks(7)).toEqual([0, 2, 4, 6, 8]);
  expect(roundTicks(1)).toEqual([0, 1]);
  expect(roundTicks(3)).toEqual([0, 1, 2, 3]);
  expect(roundTicks(0)).toEqual([0, 1]);
});
