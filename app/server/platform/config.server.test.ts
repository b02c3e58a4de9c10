import { describe, expect, test } from "bun:test";
import { defaultAppProcesses, loadConfig } from "./config.server";

const base = { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/x" };

describe("config", () => {
  test("defaults: the plan catalog the README lists, local Stripe, mk_test_ keys", () => {
    const c = loadConfig(base);
    // The catalog of issue 22's table, written out (not compared with the file it comes from).
    const overage = (priceCents: number, per: number) => ({ priceCents, per, interval: "month" as const });
    expect(c.PLANS_CONFIG).toEqual({
      features: {
        api_call: { type: "metered", unit: "call" },
        tokens: { type: "metered", unit: "token" },
        seats: { type: "numeric" },
        webhooks: { type: "boolean" },
        sso: { type: "boolean" },
      },
      plans: {
        trial: {
          name: "Trial",
          currency: "usd",
          trialDays: 14,
          priceOf: "starter",
          features: { api_call: { included: 1_000 }, tokens: { included: 100_000 }, seats: { limit: 1 }, webhooks: true, sso: false },
        },
        starter: {
          name: "Starter",
          currency: "usd",
          prices: { month: 2900, year: 29000 },
          features: { api_call: { included: 50_000 }, tokens: { included: 5_000_000 }, seats: { limit: 3 }, webhooks: true, sso: false },
        },
        growth: {
          name: "Growth",
          currency: "usd",
          prices: { month: 9900, year: 99000 },
          features: {
            api_call: { included: 250_000, overage: overage(50, 1000) },
            tokens: { included: 25_000_000, overage: overage(200, 1_000_000) },
            seats: { limit: 10 },
            webhooks: true,
            sso: false,
          },
        },
        pro: {
          name: "Pro",
          currency: "usd",
          prices: { month: 29900, year: 299000 },
          features: {
            api_call: { included: 1_000_000, overage: overage(40, 1000) },
            tokens: { included: 100_000_000, overage: overage(150, 1_000_000) },
            seats: { limit: null },
            webhooks: true,
            sso: true,
          },
        },
      },
      topUps: { api_call: { units: 10_000, priceCents: 1000, currency: "usd" }, tokens: { units: 1_000_000, priceCents: 500, currency: "usd" } },
    });
    expect(c.plansConfigSet).toBe(false);
    expect(c.stripeMode).toBe("local");
    expect(c.keyPrefix).toBe("mk_test_");
    expect(c.baseUrl).toBe("http://127.0.0.1:3000");
  });

  test("app processes by default: a third of the cores (at least one) beside a local Postgres, one per core beside a remote one", () => {
    const own = new Set(["box-1", "10.0.0.5", "fe80::1"]);
    const local = [
      "postgres://postgres@127.0.0.1:5432/x",
      "postgresql://u:p@localhost/x",
      "postgres://u@[::1]:5432/x",
      "postgres://u@/x?host=/run/postgresql",
      "postgres://u@box-1:5432/x",
      "postgres://u@10.0.0.5/x",
    ];
    for (const url of local) {
      expect([2, 3, 4, 6, 8, 16].map((cores) => defaultAppProcesses(url, cores, own))).toEqual([1, 1, 1, 2, 2, 5]);
    }
    for (const url of ["postgres://u@db.internal:5432/x", "postgres://u@10.0.0.9/x", "postgres://u@[2001:db8::7]/x"]) {
      expect([1, 2, 8].map((cores) => defaultAppProcesses(url, cores, own))).toEqual([1, 2, 8]);
    }
    // Set, it is what it says.
    expect(loadConfig({ ...base, APP_PROCESSES: "2" }).APP_PROCESSES).toBe(2);
    expect(loadConfig({ ...base, DATABASE_URL: "postgres://u@db.internal/x", APP_PROCESSES: "1" }).APP_PROCESSES).toBe(1);
  });

  test("a missing DATABASE_URL fails naming it", () => {
    expect(() => loadConfig({})).toThrow(/DATABASE_URL/);
  });

  test("a bad variable fails naming it", () => {
    expect(() => loadConfig({ ...base, PORT: "http" })).toThrow(/PORT/);
    expect(() => loadConfig({ ...base, CLERK_PUBLISHABLE_KEY: "nonsense" })).toThrow(/CLERK_PUBLISHABLE_KEY/);
    expect(() => loadConfig({ ...base, SMTP_URL: "http://x" })).toThrow(/SMTP_URL/);
    expect(() => loadConfig({ ...base, APP_PROCESSES: "0" })).toThrow(/APP_PROCESSES/);
    expect(() => loadConfig({ ...base, WORKER_PROCESSES: "17" })).toThrow(/WORKER_PROCESSES/);
    expect(() => loadConfig({ ...base, SHUTDOWN_GRACE_MS: "-1" })).toThrow(/SHUTDOWN_GRACE_MS/);
    expect(() => loadConfig({ ...base, DATABASE_BREAKER_PROBE_MS: "10" })).toThrow(/DATABASE_BREAKER_PROBE_MS/);
    expect(() => loadConfig({ ...base, REDIS_BREAKER_FAILURES: "0" })).toThrow(/REDIS_BREAKER_FAILURES/);
    expect(() => loadConfig({ ...base, STRIPE_METER_LAG_SECONDS: "x" })).toThrow(/STRIPE_METER_LAG_SECONDS/);
    expect(() => loadConfig({ ...base, WORKER_METRICS_PORT: "70000" })).toThrow(/WORKER_METRICS_PORT/);
    expect(() => loadConfig({ ...base, SENTRY_DSN: "nope" })).toThrow(/SENTRY_DSN/);
    expect(() => loadConfig({ ...base, SENTRY_TRACES_SAMPLE_RATE: "2" })).toThrow(/SENTRY_TRACES_SAMPLE_RATE/);
    expect(() => loadConfig({ ...base, PLANS_CONFIG: "{oops" })).toThrow(/PLANS_CONFIG: is not valid JSON/);
    expect(() => loadConfig({ ...base, PLANS_CONFIG: '{"features": {}, "plans": {}, "plans": {}}' })).toThrow(
      /PLANS_CONFIG: plans: is written twice in one object/,
    );
    const legacyTrial = { name: "Trial", priceMonthly: 2900, currency: "usd", includedUnits: { api_call: 1_000 }, trialDays: 14, priceOf: "gold" };
    expect(() => loadConfig({ ...base, PLANS_CONFIG: JSON.stringify({ trial: legacyTrial }) })).toThrow(
      /PLANS_CONFIG: plans\.trial\.priceOf: names an unknown plan "gold"/,
    );
    expect(() => loadConfig({ ...base, PLANS_CONFIG: "/nowhere/catalog.json" })).toThrow(/PLANS_CONFIG: is neither inline JSON nor a readable catalog file/);
  });

  test("production refuses the local stand-ins", () => {
    expect(() => loadConfig({ ...base, NODE_ENV: "production" })).toThrow(/CLERK_SECRET_KEY/);
    expect(() => loadConfig({ ...base, NODE_ENV: "production", CLERK_SECRET_KEY: "sk_test_clerk123" })).toThrow(/STRIPE_SECRET_KEY: required in production/);
  });

  test("every broken rule across variables is reported at once, each by name", () => {
    const err = (() => {
      try {
        loadConfig({ ...base, NODE_ENV: "production", STRIPE_SECRET_KEY: "sk_live_abc123" });
      } catch (e) {
        return (e as Error).message;
      }
    })();
    for (const key of ["CLERK_SECRET_KEY", "METRICS_TOKEN", "STRIPE_WEBHOOK_SECRET"]) expect(err).toContain(`  ${key}: `);
    expect(err).not.toContain("STRIPE_SECRET_KEY: required");
  });

  test("production needs a token for /metrics, or metrics off", () => {
    const production = {
      ...base,
      NODE_ENV: "production",
      CLERK_SECRET_KEY: "sk_test_clerk123",
      STRIPE_SECRET_KEY: "sk_live_abc123",
      STRIPE_WEBHOOK_SECRET: "whsec_endpoint123",
    };
    expect(() => loadConfig(production)).toThrow(/METRICS_TOKEN: required in production/);
    expect(loadConfig({ ...production, METRICS_TOKEN: "a-long-scrape-token-123" }).METRICS).toBe("on");
    expect(loadConfig({ ...production, METRICS: "off" }).METRICS).toBe("off");
  });

  test("a live Stripe key makes mk_live_ keys", () => {
    const c = loadConfig({ ...base, STRIPE_SECRET_KEY: "sk_live_abc123", STRIPE_WEBHOOK_SECRET: "whsec_endpoint123" });
    expect(c.stripeMode).toBe("live");
    expect(c.keyPrefix).toBe("mk_live_");
  });

  test("a Stripe key needs the endpoint's own webhook secret, not none and not the local Stripe's", () => {
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: "sk_test_abc123" })).toThrow(/STRIPE_WEBHOOK_SECRET: required with STRIPE_SECRET_KEY/);
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: "sk_test_abc123", STRIPE_WEBHOOK_SECRET: "whsec_local-stripe-only" })).toThrow(
      /STRIPE_WEBHOOK_SECRET/,
    );
    expect(loadConfig({ ...base, STRIPE_SECRET_KEY: "sk_test_abc123", STRIPE_WEBHOOK_SECRET: "whsec_endpoint123" }).stripeMode).toBe("test");
  });

  test("test clocks are asked for, never implied by a key: on for the local Stripe, off with a key unless STRIPE_TEST_CLOCKS=on", () => {
    const testKey = { STRIPE_SECRET_KEY: "sk_test_abc123", STRIPE_WEBHOOK_SECRET: "whsec_endpoint123" };
    const liveKey = { STRIPE_SECRET_KEY: "sk_live_abc123", STRIPE_WEBHOOK_SECRET: "whsec_endpoint123" };
    expect(loadConfig(base).testClocks).toBe(true);
    expect(loadConfig({ ...base, STRIPE_TEST_CLOCKS: "off" }).testClocks).toBe(false);
    expect(loadConfig({ ...base, ...testKey }).testClocks).toBe(false);
    expect(loadConfig({ ...base, ...testKey, STRIPE_SECRET_KEY: "rk_test_abc123" }).testClocks).toBe(false);
    expect(loadConfig({ ...base, ...testKey, STRIPE_TEST_CLOCKS: "on" }).testClocks).toBe(true);
    expect(loadConfig({ ...base, ...liveKey }).testClocks).toBe(false);
    expect(loadConfig({ ...base, ...liveKey, STRIPE_TEST_CLOCKS: "off" }).testClocks).toBe(false);
    expect(() => loadConfig({ ...base, ...liveKey, STRIPE_TEST_CLOCKS: "on" })).toThrow(/STRIPE_TEST_CLOCKS: .*live/);
    expect(() => loadConfig({ ...base, STRIPE_TEST_CLOCKS: "yes" })).toThrow(/STRIPE_TEST_CLOCKS/);
  });

  test("observability settings: metrics on, no tracing, no hot-route access log by default; bad values fail naming them", () => {
    const c = loadConfig(base);
    expect(c.METRICS).toBe("on");
    expect(c.SENTRY_TRACES_SAMPLE_RATE).toBe(0);
    expect(c.ACCESS_LOG_SAMPLE).toBe(0);
    expect(c.WORKER_METRICS_PORT).toBeUndefined();
    expect(() => loadConfig({ ...base, METRICS: "maybe" })).toThrow(/METRICS/);
    expect(() => loadConfig({ ...base, METRICS_TOKEN: "short" })).toThrow(/METRICS_TOKEN/);
    expect(() => loadConfig({ ...base, ACCESS_LOG_SAMPLE: "2" })).toThrow(/ACCESS_LOG_SAMPLE/);
    expect(() => loadConfig({ ...base, SENTRY_TRACES_SAMPLE_RATE: "-0.1" })).toThrow(/SENTRY_TRACES_SAMPLE_RATE/);
    expect(() => loadConfig({ ...base, CLERK_WEBHOOK_SECRET: "secret" })).toThrow(/CLERK_WEBHOOK_SECRET/);
  });

  test("retention periods: the documented defaults; below a minimum, or events outliving less than what refers to them, fails naming it", () => {
    const c = loadConfig(base);
    expect([c.RETENTION_STRIPE_EVENTS_DAYS, c.RETENTION_EVENTS_DAYS, c.RETENTION_WEBHOOK_DELIVERIES_DAYS, c.RETENTION_EMAILS_DAYS]).toEqual([90, 90, 30, 90]);
    expect(c.RETENTION_USAGE_HOURLY_MONTHS).toBe(13);
    expect(c.RETENTION_BATCH_SIZE).toBe(1000);
    // Stripe retries a delivery for up to three days: an event must outlive that.
    expect(() => loadConfig({ ...base, RETENTION_STRIPE_EVENTS_DAYS: "3" })).toThrow(/RETENTION_STRIPE_EVENTS_DAYS/);
    // The outbound schedule retries for ~71 hours.
    expect(() => loadConfig({ ...base, RETENTION_WEBHOOK_DELIVERIES_DAYS: "2" })).toThrow(/RETENTION_WEBHOOK_DELIVERIES_DAYS/);
    expect(() => loadConfig({ ...base, RETENTION_USAGE_HOURLY_MONTHS: "1" })).toThrow(/RETENTION_USAGE_HOURLY_MONTHS/);
    expect(() => loadConfig({ ...base, RETENTION_STRIPE_EVENTS_DAYS: "120" })).toThrow(/RETENTION_EVENTS_DAYS: must be at least/);
    expect(loadConfig({ ...base, RETENTION_STRIPE_EVENTS_DAYS: "120", RETENTION_EVENTS_DAYS: "120" }).RETENTION_EVENTS_DAYS).toBe(120);
  });
});
