// The idempotency keys the app sends Stripe name one request body each, for good: Stripe keeps a
// key 24 hours and refuses it with another body (400 idempotency_error). Reads no database.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { phasesUpdate } from "./schedules.server";
import { canonical, MAX_KEY_LENGTH, requestKey } from "./stripe-keys.server";

describe("requestKey", () => {
  const body = { items: [{ id: "si_1", price: "price_pro" }], proration_behavior: "always_invoice", proration_date: 1_780_000_000 };

  test("the same body gives the same key, whatever the order of its fields", () => {
    const reordered = { proration_date: 1_780_000_000, proration_behavior: "always_invoice", items: [{ price: "price_pro", id: "si_1" }] };
    expect(requestKey("upgrade:org_a:k1", reordered)).toBe(requestKey("upgrade:org_a:k1", body));
    expect(canonical({ b: 1, a: [2, { d: 3, c: undefined }] })).toBe('{"a":[2,{"d":3}],"b":1}');
  });

  test("any change to the body, however deep, or to the prefix, is another key", () => {
    const key = requestKey("upgrade:org_a:k1", body);
    const changed = [
      { ...body, proration_date: 1_780_000_001 },
      { ...body, items: [{ id: "si_1", price: "price_growth" }] },
      { ...body, items: [{ id: "si_2", price: "price_pro" }] },
      { ...body, proration_behavior: "create_prorations" },
      { ...body, trial_end: "now" },
      { items: body.items, proration_behavior: body.proration_behavior },
    ];
    const keys = changed.map((b) => requestKey("upgrade:org_a:k1", b));
    expect(new Set([key, ...keys]).size).toBe(changed.length + 1);
    expect(requestKey("upgrade:org_b:k1", body)).not.toBe(key);
    expect(key.startsWith("upgrade:org_a:k1:")).toBe(true);
  });

  test("fits Stripe's 255 characters, and two long prefixes stay two keys", () => {
    const long = `upgrade:org_${"x".repeat(40)}:${"k".repeat(250)}`;
    const a = requestKey(long, body);
    const b = requestKey(`${long.slice(0, -1)}j`, body);
    expect(a.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    expect(b.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    expect(a).not.toBe(b);
  });
});

describe("the schedule update of a downgrade", () => {
  const periodEnd = new Date(Date.UTC(2026, 3, 1));
  const schedule = (id: string, revision?: number) => ({
    id,
    metadata: (revision === undefined ? {} : { revision: String(revision) }) as Record<string, string>,
    current_phase: { start_date: Date.UTC(2026, 2, 1) / 1000 },
    phases: [{ start_date: Date.UTC(2026, 2, 1) / 1000 }],
  });
  const onGrowth = { priceId: "price_growth", periodEnd };
  const onPro = { priceId: "price_pro", periodEnd };
  const toStarter = { priceId: "price_starter" };

  test("downgrade, upgrade, downgrade: the second schedule starts at revision 0 too, and gets its own key", () => {
    const first = phasesUpdate("org_a", schedule("sub_sched_1"), onGrowth, toStarter);
    const second = phasesUpdate("org_a", schedule("sub_sched_2"), onPro, toStarter);
    expect(second.params.metadata).toEqual(first.params.metadata);
    expect(second.idempotencyKey).not.toBe(first.idempotencyKey);
    // Even where the bodies are equal (the same prices), another schedule is another request.
    expect(phasesUpdate("org_a", schedule("sub_sched_2"), onGrowth, toStarter).idempotencyKey).not.toBe(first.idempotencyKey);
  });

  test("a retry of the same change is the same key; another target, revision or period end is another", () => {
    const key = phasesUpdate("org_a", schedule("sub_sched_1", 2), onGrowth, toStarter).idempotencyKey;
    expect(phasesUpdate("org_a", schedule("sub_sched_1", 2), onGrowth, toStarter).idempotencyKey).toBe(key);
    const others = [
      phasesUpdate("org_a", schedule("sub_sched_1", 2), onGrowth, null),
      phasesUpdate("org_a", schedule("sub_sched_1", 3), onGrowth, toStarter),
      phasesUpdate("org_a", schedule("sub_sched_1", 2), { ...onGrowth, periodEnd: new Date(Date.UTC(2026, 3, 2)) }, toStarter),
      phasesUpdate("org_a", schedule("sub_sched_1", 2), onGrowth, { priceId: "price_starter_v2" }),
    ];
    expect(new Set([key, ...others.map((o) => o.idempotencyKey)]).size).toBe(others.length + 1);
  });
});

describe("every key the app sends", () => {
  // The modules that call the Stripe client (test/sdk-boundaries.test.ts keeps the SDK in billing/).
  const callers = ["stripe.server.ts", "stripe-meter.server.ts", "stripe-subscriptions.server.ts", "schedules.server.ts"];

  test("is a requestKey over the request's body", () => {
    const sent: { file: string; value: string }[] = [];
    for (const file of callers) {
      const text = readFileSync(join(import.meta.dir, file), "utf8");
      // A property `idempotencyKey: <value>` or `{ idempotencyKey }`; not a field read (`input.idempotencyKey`).
      for (const m of text.matchAll(/(?<![.\w])idempotencyKey(?:\??:\s*([^\n]+)|\s*[,}])/g)) {
        if (m[1] === undefined) {
          // Passed on by name: only the one phasesUpdate made (its requestKey is counted below).
          expect([file, /const \{ params, idempotencyKey \} = phasesUpdate\(/.test(text)]).toEqual([file, true]);
          continue;
        }
        if (!/^string\b/.test(m[1])) sent.push({ file, value: m[1].trim() }); // (not a parameter's type)
      }
    }
    // The patterns still see them: price, clock, customer, checkout, schedule create/update/release,
    // upgrade, resume (Keep my plan), and a metered feature's meter (one creation for every
    // feature, api_call's included).
    expect(sent.length).toBe(10);
    expect(sent.filter((s) => !s.value.startsWith("requestKey("))).toEqual([]);
  });
});
