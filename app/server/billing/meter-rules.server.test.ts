// Where usage goes in Stripe's meter: timestamps Stripe accepts, identifiers it accepts, and
// whole-minute windows that still count each period exactly.
import { describe, expect, test } from "bun:test";
import { withSeed } from "../../../test/seeded";
import { MAX_PAST_SECONDS, meterEventIdentifier, meterEventTimestamp, summaryWindow } from "./meter-rules.server";

const DAY = 86_400;

describe("meter rules", () => {
  test("identifiers are deterministic, distinct per range and at most 100 characters for the longest org id", () => {
    const orgId = `org_${"x".repeat(64)}`;
    const a = meterEventIdentifier({ orgId, metric: "api_call", periodStart: 1_790_000_017, from: 0, to: 15 });
    expect(a).toBe(meterEventIdentifier({ orgId, metric: "api_call", periodStart: 1_790_000_017, from: 0, to: 15 }));
    expect(a).not.toBe(meterEventIdentifier({ orgId, metric: "api_call", periodStart: 1_790_000_017, from: 15, to: 17 }));
    expect(a.length).toBeLessThanOrEqual(100);
  });

  test("a running period's usage is reported now; a closed one's at its last whole minute; never ahead of real time", () => {
    const ps = 1_790_000_017;
    const pe = ps + 30 * DAY;
    expect(meterEventTimestamp({ periodStart: ps, periodEnd: pe, now: ps + 100 })).toEqual({ timestamp: ps + 100, inPeriod: true });
    const closed = meterEventTimestamp({ periodStart: ps, periodEnd: pe, now: pe + 3 * DAY });
    expect(closed).toEqual({ timestamp: pe - (pe % 60) - 1, inPeriod: true });
    // In the last part-minute, which belongs to the next period's window: just before it.
    expect(meterEventTimestamp({ periodStart: ps, periodEnd: pe, now: pe - 1 })).toEqual({ timestamp: pe - (pe % 60) - 1, inPeriod: true });
    // A period in real time's future (a test clock run ahead): now, outside the period.
    expect(meterEventTimestamp({ periodStart: ps, periodEnd: pe, now: ps - 10 * DAY })).toEqual({ timestamp: ps - 10 * DAY, inPeriod: false });
    // Closed over 35 days ago: the oldest second Stripe takes, outside the period.
    const late = meterEventTimestamp({ periodStart: ps, periodEnd: pe, now: pe + 40 * DAY });
    expect(late).toEqual({ timestamp: pe + 40 * DAY - MAX_PAST_SECONDS, inPeriod: false });
  });

  test("whole-minute windows of adjacent periods never count each other's usage", () =>
    withSeed((random) => {
      let checked = 0; // cases that reached the checks below (not skipped as outside their period)
      for (let i = 0; i < 2000; i++) {
        const b1 = 1_790_000_000 + Math.floor(random() * 1_000_000);
        // Periods from two minutes to 40 days; reports from just after the first starts to 10 days after the last ends.
        const b2 = b1 + 120 + Math.floor(random() * (random() < 0.3 ? 600 : 40 * DAY));
        const b3 = b2 + 120 + Math.floor(random() * (random() < 0.3 ? 600 : 40 * DAY));
        const now = b1 + Math.floor(random() * (b3 - b1 + 10 * DAY));
        for (const [ps, pe, other] of [
          [b1, b2, summaryWindow(b2, b3)],
          [b2, b3, summaryWindow(b1, b2)],
        ] as const) {
          const { timestamp, inPeriod } = meterEventTimestamp({ periodStart: ps, periodEnd: pe, now });
          if (!inPeriod) continue;
          checked++;
          expect(timestamp >= ps && timestamp < pe).toBe(true);
          const own = summaryWindow(ps, pe);
          expect((own.start % 60) + (own.end % 60)).toBe(0);
          expect(timestamp >= own.start && timestamp < own.end).toBe(true);
          expect(timestamp >= other.start && timestamp < other.end).toBe(false);
        }
      }
      expect(checked).toBeGreaterThan(0);
    }));
});
