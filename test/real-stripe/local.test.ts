// The real-account flows (flows.ts) against the local Stripe, on every run: they must complete
// here too, so the opt-in suite (real.test.ts) is known to work before anyone runs it with a key.
// When a recording from a real account is committed (recordings/stripe.json), the local Stripe's
// answers must have its shape: every field it has, of its type, and the same outcome per step.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { recordLocally } from "./local-run";
import { expectFlowOutcomes } from "./outcomes";
import { readRecording, redact } from "./recording";
import { breaking, diffRecordings, diffText, shapeOf } from "./shape-diff";

const RECORDED = join(import.meta.dir, "recordings", "stripe.json");

describe("the real-account flows, against the local Stripe", () => {
  test("every step answers; the refusals are Stripe's", async () => {
    const local = await recordLocally();
    expectFlowOutcomes(local);
    // The same flows twice make recordings of the same shape (nothing depends on the run).
    expect(diffText(diffRecordings(local, await recordLocally()).filter((d) => d.outcome || d.missingLocally.length))).toBe("same shapes in every step");
  }, 60_000);

  test.skipIf(!existsSync(RECORDED))(
    "the local Stripe answers in the shape of the committed recording from a real account",
    async () => {
      const diffs = diffRecordings(readRecording(RECORDED), await recordLocally());
      if (breaking(diffs)) console.log(diffText(diffs));
      expect(breaking(diffs)).toBe(false);
    },
    60_000,
  );
});

describe("the shape diff", () => {
  const recording = (target: "stripe" | "local", body: unknown, ok = true) => ({
    target,
    apiVersion: "v",
    sdkVersion: "v",
    recordedAt: "t",
    steps: [
      {
        step: "s",
        request: { call: "c" },
        answer: ok ? { ok: true as const, body } : { ok: false as const, status: 400, error: { type: "x", code: null, param: null, message: "m" } },
      },
    ],
  });

  test("a missing field, a field of another type, a step refused on one side are breaking; null against a value is not", () => {
    const stripe = recording("stripe", { id: "a", amount: 5, nested: { x: 1, y: null }, items: [{ k: "v" }], gone: { deep: 1 } });
    const local = recording("local", { id: "a", amount: "5", nested: { x: 1, y: "set", z: true }, items: [] });
    const [d] = diffRecordings(stripe, local);
    expect(d.missingLocally).toEqual(["$.gone"]);
    expect(d.typeMismatch).toEqual([{ path: "$.amount", stripe: ["number"], local: ["string"] }]);
    expect(d.extraLocally).toEqual(["$.nested.z"]);
    expect(d.nullOnOneSide).toEqual(["$.nested.y"]);
    expect(breaking([d])).toBe(true);
    expect(diffRecordings(stripe, recording("local", {}, false))[0].outcome).toBe("Stripe answered, the local Stripe refused (400)");
    expect(breaking(diffRecordings(recording("stripe", { a: null }), recording("local", { a: "x" })))).toBe(false);
  });

  test("shapes merge array items; redaction keeps shapes and drops ids, secrets, URLs and emails", () => {
    expect([...shapeOf({ a: [{ x: 1 }, { y: "s" }] }).keys()]).toEqual(["$", "$.a", "$.a[]", "$.a[].x", "$.a[].y"]);
    const ids = new Map<string, string>();
    const r = redact(
      {
        id: "cus_Abc123XYZ",
        other: "cus_Abc123XYZ",
        sub: "sub_sched_Q1w2E3r4",
        url: "https://x.test/p",
        email: "a@b.co",
        secret: "whsec_abc",
        key: "sk_test_123abc",
      },
      ids,
    );
    expect(r).toEqual({ id: "cus_1", other: "cus_1", sub: "sub_sched_2", url: "<url>", email: "<email>", secret: "<redacted>", key: "sk_test_<redacted>" });
  });
});
