import { expect, test } from "bun:test";
import { formatPercent } from "./format";
import { usageOutlook } from "./usage-outlook";

const day = 86_400_000;
const period = { periodStart: "2026-11-01T00:00:00Z", periodEnd: "2026-12-01T00:00:00Z" };
const at = (iso: string) => Date.parse(iso);

test("at the average daily rate so far, the quota runs out on the day it is reached", () => {
  // 10 days in, 500 of 1,000 used: 50 a day, so the remaining 500 last 10 more days.
  const o = usageOutlook({ ...period, used: 500, included: 1000, now: at("2026-11-11T00:00:00Z") });
  expect(o.runsOutAt).toBe("2026-11-21T00:00:00.000Z");
  expect(o.fraction).toBe(0.5);
});

test("no run-out date when the quota lasts to the period's end, nothing is used, or it is already used up", () => {
  expect(usageOutlook({ ...period, used: 100, included: 1000, now: at("2026-11-11T00:00:00Z") }).runsOutAt).toBeNull();
  expect(usageOutlook({ ...period, used: 0, included: 1000, now: at("2026-11-11T00:00:00Z") }).runsOutAt).toBeNull();
  expect(usageOutlook({ ...period, used: 1000, included: 1000, now: at("2026-11-11T00:00:00Z") }).runsOutAt).toBeNull();
});

test("a burst in the first hour is averaged over at least a day, not extrapolated from minutes", () => {
  const o = usageOutlook({ ...period, used: 100, included: 1000, now: at("2026-11-01T00:10:00Z") });
  expect(Date.parse(o.runsOutAt!)).toBe(at("2026-11-01T00:10:00Z") + 9 * day);
});

test("the warning's percentage is the real share used, rounded down", () => {
  expect(formatPercent(0.85)).toBe("85%");
  expect(formatPercent(0.999)).toBe("99%");
});
