// Opt-in: the main billing flows against a real Stripe test-mode account, recorded, and compared
// with the same flows against the local Stripe. Skipped unless STRIPE_TEST_SECRET_KEY is set (a
// sk_test_/rk_test_ key; a live key is refused). Run it with
//   STRIPE_TEST_SECRET_KEY=sk_test_… sh scripts/bun.sh test test/real-stripe/real.test.ts
// It writes test/real-stripe/recordings/stripe.json (ids, secrets, URLs and emails redacted;
// STRIPE_RECORDING_FILE to write elsewhere) and stripe.diff.txt beside it. Commit the recording:
// local.test.ts then holds the local Stripe to its shape on every run. Everything it makes is on a
// test clock, deleted at the end (with its customer and subscriptions).
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Stripe from "stripe";
import { runFlows } from "./flows";
import { recordLocally } from "./local-run";
import { expectFlowOutcomes } from "./outcomes";
import { writeRecording } from "./recording";
import { diffRecordings, diffText } from "./shape-diff";

const KEY = process.env.STRIPE_TEST_SECRET_KEY;
const FILE = process.env.STRIPE_RECORDING_FILE ?? join(import.meta.dir, "recordings", "stripe.json");

describe.skipIf(!KEY)("the billing flows against a real Stripe test-mode account", () => {
  test("run, recorded, and compared with the local Stripe's answers", async () => {
    expect(KEY).toMatch(/^(sk|rk)_test_/);
    const stripe = new Stripe(KEY!, { maxNetworkRetries: 2, timeout: 30_000 });
    const real = await runFlows(stripe, "stripe");
    writeRecording(FILE, real);
    // Written before anything is asserted: a difference from what the local Stripe does is the news.
    const diff = diffText(diffRecordings(real, await recordLocally()));
    writeFileSync(FILE.replace(/\.json$/, ".diff.txt"), `${diff}\n`);
    console.log(`recorded ${real.steps.length} steps to ${FILE}\n${diff}`);
    expectFlowOutcomes(real);
  }, 300_000);
});
