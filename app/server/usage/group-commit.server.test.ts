// The group commit in-process, flushing through the real record_usage / deny_or_replay on the real
// Postgres: answers reach their own callers, followers wait on their leader, rows a batch could
// not decide are queued again, and a batch that fails fails exactly its callers, counting nothing
// twice.
import { describe, expect, test } from "bun:test";
import { countsOf, orgWithKey, rid, setIncluded } from "../../../test/factories";
import { sql } from "../platform/db.server";
import { createGroupCommit, type GroupCommitOptions, type Outcome, type Queued, REQUEUE } from "./group-commit.server";

type Request = { orgId: string; requestId: string; quantity: number };
type Row = { batch_index: number; outcome: string; used: number | null };
type Answer = { requestId: string; outcome: string; used: number | null };

const GRACE = "7 days";
type Db = typeof sql;

/** One call of the usage write for a batch, as the engine makes it. */
function recordRows(db: Db, batch: readonly Queued<Request>[], fn: "record_usage" | "deny_or_replay" = "record_usage") {
  const orgs = batch.map((q) => q.item.orgId);
  const ids = batch.map((q) => q.item.requestId);
  const quantities = batch.map((q) => q.item.quantity);
  return db<Row[]>`
    select idx as batch_index, outcome, used::int
      from ${db(fn)}(${orgs}::text[], ${ids}::text[], ${orgs.map(() => "api_call")}::text[], ${quantities}::int[], ${GRACE}::interval)`;
}

const answerOf = (item: Request, row: Row): Outcome<Answer> => {
  const answer = { requestId: item.requestId, outcome: row.outcome, used: row.used };
  return row.outcome === "admitted" || row.outcome === "replayed" ? { ok: true, value: answer } : { ok: false, error: () => answer };
};

/** A group commit over the real database; `flush` defaults to one record_usage call per batch. */
function commit(overrides: Partial<GroupCommitOptions<Request, Answer, Row>> = {}) {
  const batches: Request[][] = [];
  const options: GroupCommitOptions<Request, Answer, Row> = {
    maxBatch: 512,
    maxInflight: 1,
    keyOf: (r) => `${r.orgId}\u0000${r.requestId}`,
    flush: (batch) => recordRows(sql, batch),
    indexOf: (row) => row.batch_index - 1,
    decide: answerOf,
    follow: (leader, follower, outcome) =>
      follower.quantity !== leader.quantity ? undefined : outcome.ok ? { ok: true, value: { ...outcome.value, outcome: "replayed" } } : outcome,
    ...overrides,
  };
  const flush = options.flush;
  options.flush = (batch, lane) => {
    batches.push(batch.map((q) => q.item));
    return flush(batch, lane);
  };
  return { batches, ...createGroupCommit(options) };
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a failure");
    },
    (err: unknown) => err,
  );

describe("group commit", () => {
  test("answers come back to their own callers, in arrival order within a batch", async () => {
    const [a, b] = await Promise.all([orgWithKey(), orgWithKey()]);
    const gc = commit();
    // Interleaved orgs: record_usage answers in (org, metric, position) order, not the batch's.
    const requests = Array.from({ length: 8 }, (_, i) => ({ orgId: i % 2 === 0 ? b.orgId : a.orgId, requestId: rid(), quantity: 1 + i }));
    const answers = await Promise.all(requests.map((r) => gc.submit(r)));
    expect(gc.batches).toEqual([requests]);
    expect(answers.map((x) => x.requestId)).toEqual(requests.map((r) => r.requestId));
    // Each org admits greedily in arrival order: caller k sees the running total after its own quantity.
    const runningTotal = (k: number) =>
      requests
        .slice(0, k + 1)
        .filter((r) => r.orgId === requests[k].orgId)
        .reduce((s, r) => s + r.quantity, 0);
    expect(answers.map((x) => x.used)).toEqual(requests.map((_, k) => runningTotal(k)));
    expect((await countsOf(a.orgId)).used).toBe(2 + 4 + 6 + 8);
    expect((await countsOf(b.orgId)).used).toBe(1 + 3 + 5 + 7);
  });

  test("concurrent callers share batches; repeats of a queued request follow it and get its answer as a replay", async () => {
    const { orgId } = await orgWithKey();
    const gc = commit();
    const ids = Array.from({ length: 20 }, () => rid());
    const first = ids.map((requestId) => gc.submit({ orgId, requestId, quantity: 1 }));
    // A repeat while its leader is still queued: it must not join the leader's batch.
    const queuedRepeat = gc.submit({ orgId, requestId: ids[19], quantity: 1 });
    // While that batch runs: new requests, and repeats of the running ones (same and other payload).
    await Bun.sleep(0);
    const more = Array.from({ length: 10 }, () => gc.submit({ orgId, requestId: rid(), quantity: 1 }));
    const repeats = ids.slice(0, 5).map((requestId) => gc.submit({ orgId, requestId, quantity: 1 }));
    const changed = failure(gc.submit({ orgId, requestId: ids[5], quantity: 2 }));
    const answers = await Promise.all([...first, ...more]);
    expect(answers.every((x) => x.outcome === "admitted")).toBe(true);
    expect(new Set(answers.map((x) => x.used)).size).toBe(30);
    const replays = await Promise.all(repeats);
    expect(replays).toEqual(answers.slice(0, 5).map((x) => ({ ...x, outcome: "replayed" })));
    expect(await queuedRepeat).toEqual({ ...answers[19], outcome: "replayed" });
    // The repeat with another payload is decided afresh, after its leader, by the database.
    expect(await changed).toMatchObject({ requestId: ids[5], outcome: "conflict" });
    expect(gc.batches.length).toBeGreaterThan(1);
    expect(gc.batches.length).toBeLessThan(36 / 2);
    // Followers took no slot: 30 requests, plus the changed repeat decided afresh.
    expect(gc.batches.flat().length).toBe(31);
    expect(await countsOf(orgId)).toEqual({ used: 30, ledger: 30, rows: 30 });
  });

  test("rows the batch could not decide are queued again and decided by a later batch", async () => {
    const [roomy, full] = await Promise.all([orgWithKey(), orgWithKey({ included: 1 })]);
    await sql`select 1 from record_usage(${[full.orgId]}::text[], ${[rid()]}::text[], '{api_call}', '{1}', ${GRACE}::interval)`;
    const calls: string[] = [];
    const seen = new Set<string>();
    // As the engine does for a batch it expects to be only denials: a plain read first, which
    // answers 'undecided' for a request that might fit; that one must go through record_usage.
    const gc = commit({
      flush: (batch) => {
        const readOnly = batch.every((q) => !seen.has(q.item.requestId));
        for (const q of batch) seen.add(q.item.requestId);
        calls.push(readOnly ? "deny_or_replay" : "record_usage");
        return recordRows(sql, batch, readOnly ? "deny_or_replay" : "record_usage");
      },
      decide: (item, row) => (row.outcome === "undecided" ? REQUEUE : answerOf(item, row)),
    });
    const fits = [rid(), rid(), rid()].map((requestId) => gc.submit({ orgId: roomy.orgId, requestId, quantity: 2 }));
    const denied = failure(gc.submit({ orgId: full.orgId, requestId: rid(), quantity: 1 }));
    expect(await denied).toMatchObject({ outcome: "denied", used: 1 });
    expect((await Promise.all(fits)).map((x) => [x.outcome, x.used])).toEqual([
      ["admitted", 2],
      ["admitted", 4],
      ["admitted", 6],
    ]);
    expect(calls).toEqual(["deny_or_replay", "record_usage"]);
    expect(gc.batches[1].map((r) => r.orgId)).toEqual([roomy.orgId, roomy.orgId, roomy.orgId]);
    expect(await countsOf(roomy.orgId)).toEqual({ used: 6, ledger: 6, rows: 3 });
    expect((await countsOf(full.orgId)).used).toBe(1);
  });

  test("lanes never share a batch, run their batches apart, and a request queued again goes to the lane it belongs in then", async () => {
    const [roomy, full] = await Promise.all([orgWithKey(), orgWithKey({ included: 1 })]);
    await sql`select 1 from record_usage(${[full.orgId]}::text[], ${[rid()]}::text[], '{api_call}', '{1}', ${GRACE}::interval)`;
    // Lane 1 (a plain read) for the orgs known to be full, as the engine's room hint does.
    const knownFull = new Set([full.orgId]);
    const calls: [lane: number, orgs: string[]][] = [];
    const gc = commit({
      maxInflight: [1, 1],
      laneOf: (item) => (knownFull.has(item.orgId) ? 1 : 0),
      flush: (batch, lane) => {
        calls.push([lane, batch.map((q) => q.item.orgId)]);
        return recordRows(sql, batch, lane === 1 ? "deny_or_replay" : "record_usage");
      },
      decide: (item, row) => {
        if (row.outcome !== "undecided") return answerOf(item, row);
        knownFull.delete(item.orgId);
        return REQUEUE;
      },
    });
    // Lane 0's batch waits on the roomy org's lock; lane 1 answers meanwhile.
    const other = await sql.reserve();
    let admitted: Promise<Answer>;
    try {
      await other`begin`;
      await other`select 1 from subscriptions where org_id = ${roomy.orgId} for no key update`;
      admitted = gc.submit({ orgId: roomy.orgId, requestId: rid(), quantity: 1 });
      const denied = await failure(gc.submit({ orgId: full.orgId, requestId: rid(), quantity: 1 }));
      expect(denied).toMatchObject({ outcome: "denied", used: 1 });
    } finally {
      await other`rollback`;
      other.release();
    }
    expect((await admitted).outcome).toBe("admitted");
    // The full org is upgraded: its plain read answers undecided, and the request is admitted in lane 0.
    await setIncluded(full.orgId, 3);
    expect(await gc.submit({ orgId: full.orgId, requestId: rid(), quantity: 2 })).toMatchObject({ outcome: "admitted", used: 3 });
    expect(calls).toEqual([
      [0, [roomy.orgId]],
      [1, [full.orgId]],
      [1, [full.orgId]],
      [0, [full.orgId]],
    ]);
    expect(await countsOf(full.orgId)).toEqual({ used: 3, ledger: 3, rows: 2 });
  });

  test("a batch that fails half-way fails every caller of it (followers too), counts nothing twice, and the next batch works", async () => {
    const { orgId } = await orgWithKey();
    await setIncluded(orgId, 10);
    let mode: "rollback" | "lost-after-commit" | "ok" = "rollback";
    const gc = commit({
      flush: async (batch) => {
        if (mode === "ok") return recordRows(sql, batch);
        const current = mode;
        // The work is done (and, for the lost answer, committed); then the batch throws.
        await sql.begin(async (tx) => {
          await recordRows(tx as unknown as Db, batch);
          if (current === "rollback") throw new Error("the batch failed half-way");
        });
        throw new Error("the answer was lost after the commit");
      },
    });
    const ids = [rid(), rid(), rid()];
    const submitAll = () => ids.map((requestId) => gc.submit({ orgId, requestId, quantity: 2 }));

    const rolledBack = submitAll().map(failure);
    const follower = failure(gc.submit({ orgId, requestId: ids[0], quantity: 2 }));
    await Bun.sleep(0);
    mode = "ok";
    // Queued behind the failing batch, so in a batch of its own: unaffected.
    const later = gc.submit({ orgId, requestId: rid(), quantity: 1 });
    for (const err of await Promise.all([...rolledBack, follower])) expect(String(err)).toContain("failed half-way");
    expect((await later).used).toBe(1);
    expect(await countsOf(orgId)).toEqual({ used: 1, ledger: 1, rows: 1 });

    mode = "lost-after-commit";
    for (const err of await Promise.all(submitAll().map(failure))) expect(String(err)).toContain("lost after the commit");
    expect(await countsOf(orgId)).toEqual({ used: 7, ledger: 7, rows: 4 });

    // The callers retry with the same request_ids: replayed, not counted again.
    mode = "ok";
    expect((await Promise.all(submitAll())).map((x) => [x.outcome, x.used])).toEqual([
      ["replayed", 3],
      ["replayed", 5],
      ["replayed", 7],
    ]);
    expect(await countsOf(orgId)).toEqual({ used: 7, ledger: 7, rows: 4 });
    expect(gc.batches.length).toBe(4);
  });

  test("a request of an org a running batch holds waits for the next batch, whole; other orgs' requests start one beside it", async () => {
    const [busy, other] = await Promise.all([orgWithKey(), orgWithKey()]);
    // The first batch is held open until released, so the others queue behind it.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let first = true;
    const gc = commit({
      maxInflight: 2,
      lockOf: (r) => r.orgId,
      flush: async (batch) => {
        if (first) {
          first = false;
          await held;
        }
        return recordRows(sql, batch);
      },
    });
    const opening = { orgId: busy.orgId, requestId: rid(), quantity: 1 };
    const running = gc.submit(opening);
    await Bun.sleep(10);
    // While the busy org's batch runs: more of it, interleaved with another org's.
    const later = Array.from({ length: 6 }, (_, i) => ({ orgId: i % 3 === 2 ? other.orgId : busy.orgId, requestId: rid(), quantity: 1 }));
    const answers = Promise.all(later.map((r) => gc.submit(r)));
    await Bun.sleep(50);
    // Only the other org's requests started a second batch; the busy org's wait in the queue.
    expect(gc.batches).toEqual([[opening], later.filter((r) => r.orgId === other.orgId)]);
    release();
    await running;
    await answers;
    // Then the busy org's waiting requests went in one batch, in arrival order.
    expect(gc.batches.slice(2)).toEqual([later.filter((r) => r.orgId === busy.orgId)]);
    expect(await countsOf(busy.orgId)).toMatchObject({ used: 5, ledger: 5 });
    expect(await countsOf(other.orgId)).toMatchObject({ used: 2, ledger: 2 });
  });
});
