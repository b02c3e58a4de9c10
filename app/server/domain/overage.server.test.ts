// The overage rule of docs/api.md: round_half_up(units × priceCents / per), exact for any size,
// and the dashboard's linear projection of it to the period's end.
import { describe, expect, test } from "bun:test";
import { oneMoreOverageUnitFits, overageCents, overageOutlook, overageUnits } from "./overage.server";

const growthCalls = { priceCents: 50, per: 1000 };
const proTokens = { priceCents: 150, per: 1_000_000 };

describe("the overage line", () => {
  test("half a cent rounds up, less rounds down; nothing past the included units costs nothing", () => {
    expect(overageCents(1_331, growthCalls)).toBe(67); // 66.55
    expect(overageCents(1_330, growthCalls)).toBe(67); // 66.5
    expect(overageCents(1_329, growthCalls)).toBe(66); // 66.45
    expect(overageCents(9, growthCalls)).toBe(0); // 0.45
    expect(overageCents(10, growthCalls)).toBe(1); // 0.5
    expect(overageCents(0, growthCalls)).toBe(0);
    expect(overageCents(-5, growthCalls)).toBe(0);
    expect(overageUnits(249_000, 250_000)).toBe(0);
    expect(overageUnits(251_331, 250_000)).toBe(1_331);
  });

  test("exact where floating point is not: large counts and tiny unit prices", () => {
    // 3,333,333 tokens × 150 / 1,000,000 = 499.99995 → 500.
    expect(overageCents(3_333_333, proTokens)).toBe(500);
    // 2^53 − 1 units at 1 cent per 3 = 3,002,399,751,580,330.33… (not a Stripe-writable decimal, but the rule itself is exact).
    expect(overageCents(Number.MAX_SAFE_INTEGER, { priceCents: 1, per: 3 })).toBe(3_002_399_751_580_330);
  });
});

describe("one more overage unit under the cap", () => {
  const perThousand = { priceCents: 50, per: 1000 };
  test("no cap: always; a cap of 0: never, even for a unit whose charge rounds to 0 ¢", () => {
    expect(oneMoreOverageUnitFits({ capCents: null, orgCents: 1_000_000 }, 5, perThousand)).toBe(true);
    expect(oneMoreOverageUnitFits({ capCents: 0, orgCents: 0 }, 0, perThousand)).toBe(false);
  });

  test("the org's charge with this feature's next unit, rounded as billed, within the cap", () => {
    // 29 units: 1.45 ¢ → 1 ¢; 30 units: 1.5 ¢ → 2 ¢.
    expect(oneMoreOverageUnitFits({ capCents: 1, orgCents: 1 }, 28, perThousand)).toBe(true);
    expect(oneMoreOverageUnitFits({ capCents: 1, orgCents: 1 }, 29, perThousand)).toBe(false);
    // Other features' charge counts: 63 ¢ of 100 elsewhere leaves room for one 30 ¢ unit, not two.
    expect(oneMoreOverageUnitFits({ capCents: 100, orgCents: 63 }, 0, { priceCents: 30, per: 1 })).toBe(true);
    expect(oneMoreOverageUnitFits({ capCents: 100, orgCents: 93 }, 1, { priceCents: 30, per: 1 })).toBe(false);
  });
});

describe("the projection to the period's end", () => {
  const period = { periodStart: "2026-03-01T00:00:00.000Z", periodEnd: "2026-03-31T00:00:00.000Z" };
  const at = (iso: string) => Date.parse(iso);

  test("linear in the elapsed time: a third of the period with 270,000 used projects 810,000 used, 560,000 past the included", () => {
    const o = overageOutlook({ billable: 270_000, included: 250_000, price: growthCalls, ...period, now: at("2026-03-11T00:00:00.000Z") });
    expect(o).toEqual({ units: 20_000, cents: 1000, projectedUnits: 560_000, projectedCents: 28_000 });
  });

  test("at least a day of history; at the period's end the projection is what was used", () => {
    const early = overageOutlook({ billable: 260_000, included: 250_000, price: growthCalls, ...period, now: at("2026-03-01T01:00:00.000Z") });
    // One day counted, not one hour: 260,000 × 30 = 7,800,000 used, 7,550,000 past the included.
    expect(early.projectedUnits).toBe(7_550_000);
    const end = overageOutlook({ billable: 260_000, included: 250_000, price: growthCalls, ...period, now: at("2026-04-02T00:00:00.000Z") });
    expect(end).toMatchObject({ units: 10_000, projectedUnits: 10_000, projectedCents: 500 });
  });

  test("usage within the allowance projects no overage until the rate would pass it", () => {
    const within = overageOutlook({ billable: 10_000, included: 250_000, price: growthCalls, ...period, now: at("2026-03-16T00:00:00.000Z") });
    expect(within).toEqual({ units: 0, cents: 0, projectedUnits: 0, projectedCents: 0 });
    const heading = overageOutlook({ billable: 150_000, included: 250_000, price: growthCalls, ...period, now: at("2026-03-16T00:00:00.000Z") });
    expect(heading).toEqual({ units: 0, cents: 0, projectedUnits: 50_000, projectedCents: 2500 });
  });
});
