// The usage engine's own decisions, called in-process: `decide` (an answer row → the caller's
// outcome), `follow` (what a concurrent repeat gets) and the room hint (which requests go to the
// lock-free deny_or_replay) — first on rows as the database answers them, then through the
// engine's recordUsage on the real Postgres, where a concurrent repeat with another payload is a
// conflict and no hint, stale either way, lets a batch admit past the quota.
import { describe, expect, test } from "bun:test";
import { countsOf, orgWithKey, rid } from "../../../test/factories";
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import { createRoomHint, type DecisionRow, decide, follow, type RecordResult, type UsageRecord, type UsageRequest } from "./decisions.server";
import { recordUsage } from "./engine.server";
import { type Outcome, REQUEUE } from "./group-commit.server";

const PERIOD_START = Date.UTC(2031, 4, 1);
const PERIOD_END = Date.UTC(2031, 5, 1);
const RECORDED = Date.UTC(2031, 4, 9, 12);

const request = (over: { orgId?: string; requestId?: string; metric?: string; quantity?: number } = {}): UsageRequest & { metric: string } => ({
  orgId: "org_a",
  requestId: "req_1",
  metric: "api_call",
  quantity: 3,
  ...over,
});
const row = (over: Partial<DecisionRow>): DecisionRow => ({
  batch_index: 1,
  outcome: "admitted",
  used: 10,
  included: 10,
  period_start_ms: PERIOD_START,
  period_end_ms: PERIOD_END,
  recorded_at_ms: RECORDED,
  subscription_status: "active",
  ...over,
});

/** The error a refusal delivers to its caller. */
function refusal(outcome: Outcome<RecordResult> | typeof REQUEUE | undefined): AppError {
  if (outcome === REQUEUE || !outcome || outcome.ok) throw new Error(`expected a refusal, got ${String(outcome)}`);
  const error = outcome.error();
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe("decide", () => {
  test("an admission answers the running totals, exactly at the quota, and notes no room left", () => {
    const room = createRoomHint();
    const outcome = decide(room, request(), row({ outcome: "admitted", used: 10, included: 10 }));
    expect(outcome).toEqual({
      ok: true,
      value: {
        replayed: false,
        data: {
          request_id: "req_1",
          metric: "api_call",
          quantity: 3,
          used: 10,
          remaining: 0,
          included: 10,
          periodKey: "2031-05",
          recordedAt: new Date(RECORDED).toISOString(),
          admittedAs: { included: 3, credits: 0, overage: 0 },
        },
      },
    });
    // No room left: the next request of the org may be decided by a plain read.
    expect(room.expectsDenial(request({ requestId: "req_2", quantity: 1 }), PERIOD_START)).toBe(true);
  });

  test("a replay answers the original admission and says nothing about the room now", () => {
    const room = createRoomHint();
    const outcome = decide(room, request(), row({ outcome: "replayed", used: 4, included: 10 }));
    expect(outcome).toMatchObject({ ok: true, value: { replayed: true, data: { used: 4, remaining: 6 } } });
    expect(room.expectsDenial(request({ quantity: 100 }), PERIOD_START)).toBe(false);
  });

  test("a denial is QUOTA_EXCEEDED with the totals, the period and Retry-After, and notes the room", () => {
    const room = createRoomHint();
    const error = refusal(decide(room, request({ quantity: 4 }), row({ outcome: "denied", used: 7, included: 10, recorded_at_ms: null })));
    expect([error.code, error.details]).toEqual([
      "QUOTA_EXCEEDED",
      {
        metric: "api_call",
        used: 7,
        included: 10,
        periodKey: "2031-05",
        periodEnd: new Date(PERIOD_END).toISOString(),
        topUpUrl: `${config.baseUrl}/billing/top-ups?metric=api_call`,
      },
    ]);
    expect(Number(error.headers["Retry-After"])).toBeGreaterThan(0);
    // 3 left: a request of 4 cannot fit, one of 3 might (used + quantity == included is admitted).
    expect(room.expectsDenial(request({ quantity: 4 }), PERIOD_START)).toBe(true);
    expect(room.expectsDenial(request({ quantity: 3 }), PERIOD_START)).toBe(false);
  });

  test("an admission past the included units answers its split; an org on overage is not full, one refused for its cap is", () => {
    const room = createRoomHint();
    const outcome = decide(
      room,
      request({ quantity: 5 }),
      row({ outcome: "admitted", used: 12, included: 10, credit_units: 1, overage_units: 2, cap_cents: 500, overage_cents: 3, room: 40 }),
    );
    expect(outcome).toMatchObject({ ok: true, value: { data: { used: 12, remaining: 0, admittedAs: { included: 2, credits: 1, overage: 2 } } } });
    // 40 more units fit under the cap: not full, though used > included.
    expect(room.expectsDenial(request({ quantity: 40 }), PERIOD_START)).toBe(false);
    expect(room.expectsDenial(request({ quantity: 41 }), PERIOD_START)).toBe(true);

    const capped = refusal(
      decide(
        room,
        request({ quantity: 7 }),
        row({ outcome: "denied", used: 52, included: 10, recorded_at_ms: null, denied_by: "spend_cap", cap_cents: 500, overage_cents: 498, room: 4 }),
      ),
    );
    expect([capped.code, capped.status, capped.details]).toEqual([
      "SPEND_CAP_REACHED",
      429,
      {
        metric: "api_call",
        capCents: 500,
        overageCents: 498,
        periodKey: "2031-05",
        periodEnd: new Date(PERIOD_END).toISOString(),
        topUpUrl: `${config.baseUrl}/billing/top-ups?metric=api_call`,
      },
    ]);
    expect(Number(capped.headers["Retry-After"])).toBeGreaterThan(0);
    expect(room.expectsDenial(request({ quantity: 5 }), PERIOD_START)).toBe(true);
    expect(room.expectsDenial(request({ quantity: 4 }), PERIOD_START)).toBe(false);
  });

  test("a conflict is IDEMPOTENCY_CONFLICT naming the request_id; inactive is SUBSCRIPTION_INACTIVE with the status", () => {
    const room = createRoomHint();
    const conflict = refusal(decide(room, request(), row({ outcome: "conflict", used: null, included: null, period_end_ms: null })));
    expect([conflict.code, conflict.details]).toEqual(["IDEMPOTENCY_CONFLICT", { request_id: "req_1" }]);
    const inactive = refusal(decide(room, request(), row({ outcome: "inactive", used: null, included: null, subscription_status: "canceled" })));
    expect([inactive.code, inactive.details]).toEqual(["SUBSCRIPTION_INACTIVE", { status: "canceled" }]);
    expect(room.expectsDenial(request({ quantity: 1_000_000 }), PERIOD_START)).toBe(false);
  });

  test("an undecided row is queued again and forgets the org's room, so the next batch takes the locked path", () => {
    const room = createRoomHint();
    decide(room, request(), row({ outcome: "denied", used: 10, included: 10 }));
    expect(room.expectsDenial(request(), PERIOD_START)).toBe(true);
    expect(decide(room, request(), row({ outcome: "undecided" }))).toBe(REQUEUE);
    expect(room.expectsDenial(request(), PERIOD_START)).toBe(false);
  });
});

describe("follow", () => {
  const admitted = decide(createRoomHint(), request(), row({ outcome: "admitted", used: 5, included: 10 })) as Outcome<RecordResult>;
  const denied = decide(createRoomHint(), request(), row({ outcome: "denied", used: 9, included: 10 })) as Outcome<RecordResult>;

  test("a repeat with the same payload shares the leader's admission, as a replay of the same data", () => {
    const answer = follow(request(), request(), admitted);
    expect(answer).toEqual({ ok: true, value: { replayed: true, data: (admitted as { value: RecordResult }).value.data } });
  });

  test("a repeat with the same payload shares the leader's refusal", () => {
    expect(refusal(follow(request(), request(), denied)).code).toBe("QUOTA_EXCEEDED");
  });

  test("a repeat with another quantity or metric is decided afresh, whatever the leader got", () => {
    for (const leaderOutcome of [admitted, denied]) {
      expect(follow(request(), request({ quantity: 4 }), leaderOutcome)).toBeUndefined();
      expect(follow(request(), request({ metric: "other" as UsageRequest["metric"] }), leaderOutcome)).toBeUndefined();
    }
  });
});

describe("the room hint", () => {
  const noted = (remaining: number, periodEnd = PERIOD_END) => {
    const room = createRoomHint();
    room.note("org_a", "api_call", row({ outcome: "denied", used: 10 - remaining, included: 10, period_end_ms: periodEnd }));
    return room;
  };

  test("a request goes to the plain read only when it is over its org's known room", () => {
    const room = noted(2);
    expect(room.expectsDenial(request({ quantity: 3 }), PERIOD_START)).toBe(true);
    expect(room.expectsDenial(request({ requestId: "req_2", quantity: 5 }), PERIOD_START)).toBe(true);
    // One that might fit (exactly the room left), or of an org or metric the hint does not know: the locked path.
    expect(room.expectsDenial(request({ quantity: 2 }), PERIOD_START)).toBe(false);
    expect(room.expectsDenial(request({ orgId: "org_b", quantity: 3 }), PERIOD_START)).toBe(false);
    expect(room.expectsDenial(request({ metric: "other" as UsageRequest["metric"] }), PERIOD_START)).toBe(false);
  });

  test("from the end of the noted period the org may have room again (a new period)", () => {
    const room = noted(0);
    expect(room.expectsDenial(request(), PERIOD_END - 1)).toBe(true);
    expect(room.expectsDenial(request(), PERIOD_END)).toBe(false);
  });

  test("a row without a period end is not noted; a full hint starts over rather than growing", () => {
    const room = createRoomHint(2);
    room.note("org_a", "api_call", row({ outcome: "denied", period_end_ms: null }));
    expect(room.expectsDenial(request(), PERIOD_START)).toBe(false);
    for (const orgId of ["org_a", "org_b"]) room.note(orgId, "api_call", row({ outcome: "denied" }));
    room.note("org_b", "api_call", row({ outcome: "denied" })); // a known org: nothing dropped
    expect(room.expectsDenial(request(), PERIOD_START)).toBe(true);
    expect(room.expectsDenial(request({ orgId: "org_b" }), PERIOD_START)).toBe(true);
    room.note("org_c", "api_call", row({ outcome: "denied" }));
    expect(room.expectsDenial(request({ orgId: "org_c" }), PERIOD_START)).toBe(true);
    expect(room.expectsDenial(request(), PERIOD_START)).toBe(false);
  });
});

// ---- Through the engine (group commit, decide, follow, room hint) on the real Postgres. ----

const record = (orgId: string, quantity: number, requestId = rid()) => recordUsage({ orgId, requestId, metric: "api_call", quantity });
const settledAll = (promises: Promise<RecordResult>[]) =>
  Promise.allSettled(promises).then((results) =>
    results.map((r) => (r.status === "fulfilled" ? { used: (r.value.data as UsageRecord).used, replayed: r.value.replayed } : (r.reason as AppError).code)),
  );

/** Runs `fn` while another transaction holds the org's subscription row lock, the lock record_usage takes first. */
async function whileOrgLocked<T>(orgId: string, fn: () => Promise<T>): Promise<T> {
  const other = await sql.reserve();
  try {
    await other`begin`;
    await other`select 1 from subscriptions where org_id = ${orgId} for no key update`;
    return await fn();
  } finally {
    await other`rollback`;
    other.release();
  }
}

/** Resolves once a record_usage call is waiting on a row lock (the batch took the locked path), or fails at the deadline. */
async function recordUsageWaitingOnLock(deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
       where datname = current_database() and wait_event_type = 'Lock' and query like '%record_usage(%'`;
    if (row.n > 0) return;
    if (Date.now() > deadline) throw new Error("no record_usage call is waiting on the org's lock");
    await Bun.sleep(10);
  }
}

/** `p`, or a failure once `ms` have passed: a request that should not need the org's lock must not wait for it. */
const within = <T>(ms: number, p: Promise<T>) =>
  Promise.race([p, Bun.sleep(ms).then(() => Promise.reject(new Error(`not answered within ${ms} ms: it waited on the org's lock`)))]);

describe("the engine on the real database", () => {
  test("used + quantity == included is admitted; one more is refused, and counts nothing", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    await record(orgId, 7);
    const exact = await record(orgId, 3);
    expect(exact.data).toMatchObject({ used: 10, remaining: 0, included: 10 });
    expect(await settledAll([record(orgId, 1)])).toEqual(["QUOTA_EXCEEDED"]);
    expect(await countsOf(orgId)).toEqual({ used: 10, ledger: 10, rows: 2 });
  });

  test("concurrent repeats: the same payload replays the leader's answer, another payload is IDEMPOTENCY_CONFLICT", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    const id = rid();
    // Submitted together, so the repeats wait on the first (their leader) in the group commit.
    const answers = await settledAll([record(orgId, 2, id), record(orgId, 2, id), record(orgId, 3, id)]);
    expect(answers).toEqual([{ used: 2, replayed: false }, { used: 2, replayed: true }, "IDEMPOTENCY_CONFLICT"]);
    expect(await countsOf(orgId)).toEqual({ used: 2, ledger: 2, rows: 1 });
  });

  test("a concurrent repeat of a denied request: the same payload is denied with it; another that fits is admitted", async () => {
    const { orgId } = await orgWithKey({ included: 5 });
    await record(orgId, 3);
    const id = rid();
    const answers = await settledAll([record(orgId, 3, id), record(orgId, 3, id), record(orgId, 2, id)]);
    // A denial writes nothing, so the request_id is still free for the other payload.
    expect(answers).toEqual(["QUOTA_EXCEEDED", "QUOTA_EXCEEDED", { used: 5, replayed: false }]);
    expect(await countsOf(orgId)).toEqual({ used: 5, ledger: 5, rows: 2 });
  });

  test("an org the hint knows is full is denied by the plain read, without waiting for the org's lock", async () => {
    const { orgId } = await orgWithKey({ included: 5 });
    await record(orgId, 5);
    const answers = await whileOrgLocked(orgId, () => within(5_000, settledAll([record(orgId, 1), record(orgId, 2)])));
    expect(answers).toEqual(["QUOTA_EXCEEDED", "QUOTA_EXCEEDED"]);
    expect(await countsOf(orgId)).toEqual({ used: 5, ledger: 5, rows: 1 });
  });

  test("a stale 'full' hint (the org was upgraded): the read answers undecided, and the locked path admits exactly up to the new quota", async () => {
    const { orgId } = await orgWithKey({ included: 5 });
    await record(orgId, 5);
    await sql`update usage_counters set included = 8 where org_id = ${orgId}`; // what an upgrade does
    const { pending } = await whileOrgLocked(orgId, async () => {
      const pending = settledAll(Array.from({ length: 5 }, () => record(orgId, 1)));
      await recordUsageWaitingOnLock(); // denied by no plain read: they wait for the lock
      return { pending };
    });
    expect(await pending).toEqual([
      { used: 6, replayed: false },
      { used: 7, replayed: false },
      { used: 8, replayed: false },
      "QUOTA_EXCEEDED",
      "QUOTA_EXCEEDED",
    ]);
    expect(await countsOf(orgId)).toEqual({ used: 8, ledger: 8, rows: 4 });
  });

  test("the plain read's own boundary: with 2 really left, a request of 2 is undecided (then admitted under the lock), one of 3 denied", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    await record(orgId, 9); // the hint: 1 left
    await sql`update usage_counters set included = 11 where org_id = ${orgId}`; // 2 left in fact
    const { pending } = await whileOrgLocked(orgId, async () => {
      const pending = settledAll([record(orgId, 2), record(orgId, 3)]);
      await recordUsageWaitingOnLock();
      return { pending };
    });
    expect(await pending).toEqual([{ used: 11, replayed: false }, "QUOTA_EXCEEDED"]);
    expect(await countsOf(orgId)).toEqual({ used: 11, ledger: 11, rows: 2 });
  });

  test("a stale hint of room (another process used it up): record_usage denies every request past the quota", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    await record(orgId, 1); // the hint: 9 left
    await sql`select 1 from record_usage(${[orgId]}::text[], ${[rid()]}::text[], '{api_call}', '{9}', '7 days'::interval)`;
    expect(await settledAll([record(orgId, 1), record(orgId, 1), record(orgId, 9)])).toEqual(["QUOTA_EXCEEDED", "QUOTA_EXCEEDED", "QUOTA_EXCEEDED"]);
    expect(await countsOf(orgId)).toEqual({ used: 10, ledger: 10, rows: 2 });
  });

  test("a hint of 2 left: a batch with one request of exactly 2 takes the locked path and admits it, the rest denied", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    await record(orgId, 8);
    expect(await settledAll([record(orgId, 3), record(orgId, 2), record(orgId, 1)])).toEqual([
      "QUOTA_EXCEEDED",
      { used: 10, replayed: false },
      "QUOTA_EXCEEDED",
    ]);
    expect(await countsOf(orgId)).toEqual({ used: 10, ledger: 10, rows: 2 });
  });
});

describe("the SQL at the boundary", () => {
  type SqlRow = { outcome: string; used: number | null; included: number | null };
  const call = async (fn: "record_usage" | "deny_or_replay", orgId: string, items: [requestId: string, quantity: number][]): Promise<SqlRow[]> => [
    ...(await sql<SqlRow[]>`
      select outcome, used::int, included::int
        from ${sql(fn)}(${items.map(() => orgId)}::text[], ${items.map((i) => i[0])}::text[], ${items.map(() => "api_call")}::text[],
                        ${items.map((i) => i[1])}::int[], '7 days'::interval)
       order by idx`),
  ];
  const sevenOfTen = async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    await call("record_usage", orgId, [[rid(), 7]]);
    return orgId;
  };

  test("deny_or_replay denies only past the quota: used + quantity == included is left undecided; it writes nothing", async () => {
    const orgId = await sevenOfTen();
    expect(
      await call("deny_or_replay", orgId, [
        [rid(), 3],
        [rid(), 4],
      ]),
    ).toEqual([
      { outcome: "undecided", used: 7, included: 10 },
      { outcome: "denied", used: 7, included: 10 },
    ]);
    expect(await countsOf(orgId)).toEqual({ used: 7, ledger: 7, rows: 1 });
  });

  test("record_usage admits up to exactly the quota and refuses the next unit, within one batch", async () => {
    const orgId = await sevenOfTen();
    const [exact, over] = [rid(), rid()];
    expect(
      await call("record_usage", orgId, [
        [exact, 3],
        [over, 1],
      ]),
    ).toEqual([
      { outcome: "admitted", used: 10, included: 10 },
      { outcome: "denied", used: 10, included: 10 },
    ]);
    // Full now: the admitted request replays, its other payload conflicts, the denied one is still denied.
    const outcomes = async (fn: "record_usage" | "deny_or_replay", items: [string, number][]) => (await call(fn, orgId, items)).map((r) => r.outcome);
    expect(
      await outcomes("deny_or_replay", [
        [exact, 3],
        [exact, 2],
        [over, 1],
      ]),
    ).toEqual(["replayed", "conflict", "denied"]);
    expect(
      await outcomes("record_usage", [
        [exact, 2],
        [over, 1],
      ]),
    ).toEqual(["conflict", "denied"]);
    expect(await outcomes("record_usage", [[exact, 3]])).toEqual(["replayed"]);
    expect(await countsOf(orgId)).toEqual({ used: 10, ledger: 10, rows: 2 });
  });
});
