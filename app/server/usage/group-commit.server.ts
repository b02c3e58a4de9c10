// Group commit: callers submit items one at a time; the items waiting together are handed, as one
// batch, to an async flush function (one statement, one commit for all of them), and each caller
// gets its own item's answer back.
//
// - While maxInflight batches are running, new items wait in the queue; a batch takes up to
//   maxBatch of them, in arrival order.
// - Lanes (optional): `laneOf` puts each item, when it is queued, in one lane; lanes never share
//   a batch, and each has its own queue and its own number of batches in flight (maxInflight per
//   lane). flush is told the lane of its batch.
// - Locks (optional): an item whose lock (`lockOf`: its org) a running batch of its lane holds
//   stays queued, in order, until that batch is answered; a batch takes the other items.
// - Items with the same key as one already queued or running ("followers") wait on that one
//   ("the leader") instead of taking a slot of their own, so a batch never repeats a key. When the
//   leader is answered, `follow` says what each follower gets, or that it is decided afresh. One
//   leader per key across all lanes.
// - flush returns one row per item of its batch (in any order: indexOf says whose it is); once it
//   has returned, `decide` turns each row into its item's Outcome, or REQUEUE for an item the batch
//   could not decide, which goes back to the queue (keeping its followers) for a later batch, in
//   the lane `laneOf` says then.
// - A flush that throws fails exactly its batch: each of its items and their followers get the
//   error, and nothing of it is answered otherwise; other batches and later items go on.
// Per item the queue allocates one record and its promise; per batch nothing else.
export type Outcome<Result> = { ok: true; value: Result } | { ok: false; error: () => unknown };

/** What `decide` answers for an item its batch could not decide: it is queued again. */
export const REQUEUE: unique symbol = Symbol("requeue");

/** An item as the batch carries it. */
export type Queued<Item> = { readonly item: Item };

export type GroupCommitOptions<Item, Result, Row> = {
  maxBatch: number;
  /** Batches running at once: one number, or one per lane. */
  maxInflight: number | readonly number[];
  /** The lane (an index of maxInflight) an item is queued in; without it every item is in lane 0. */
  laneOf?: (item: Item) => number;
  keyOf: (item: Item) => string;
  /**
   * What an item's batch locks (its org), optional. While a batch of its lane holding that lock
   * runs, the item is left in the queue for a later batch of the lane: a batch of it would only
   * wait on that lock, commit after it, and split the queue into smaller batches.
   */
  lockOf?: (item: Item) => string;
  /** One call per batch; one row per item. */
  flush: (batch: readonly Queued<Item>[], lane: number) => Promise<readonly Row[]>;
  /** The position in the batch of the item a row answers. */
  indexOf: (row: Row) => number;
  decide: (item: Item, row: Row) => Outcome<Result> | typeof REQUEUE;
  /** A follower's answer once its leader has its own, or undefined to decide it afresh. */
  follow: (leader: Item, follower: Item, outcome: Outcome<Result>) => Outcome<Result> | undefined;
};

export type GroupCommit<Item, Result> = {
  submit: (item: Item) => Promise<Result>;
  /** Resolves once every queued and running batch has been answered. */
  drain: () => Promise<void>;
};

type Pending<Item, Result> = {
  item: Item;
  resolve: (value: Result) => void;
  reject: (error: unknown) => void;
  followers: Pending<Item, Result>[];
};

export function createGroupCommit<Item, Result, Row>(options: GroupCommitOptions<Item, Result, Row>): GroupCommit<Item, Result> {
  const { maxBatch, keyOf, lockOf, laneOf, flush, indexOf, decide, follow } = options;
  const maxInflight = typeof options.maxInflight === "number" ? [options.maxInflight] : options.maxInflight;
  const queues = maxInflight.map((): Pending<Item, Result>[] => []);
  const inflight = maxInflight.map(() => 0);
  // Per lane, the locks its running batches hold (lockOf), with how many batches hold each.
  const held = maxInflight.map(() => new Map<string, number>());
  const leaders = new Map<string, Pending<Item, Result>>();
  let scheduled = false;

  function enqueue(p: Pending<Item, Result>): void {
    const key = keyOf(p.item);
    const leader = leaders.get(key);
    if (leader) {
      leader.followers.push(p);
      return;
    }
    leaders.set(key, p);
    queueIn(p);
  }

  /** Into its lane's queue (a leader, or an item queued again). */
  function queueIn(p: Pending<Item, Result>): void {
    const lane = laneOf ? laneOf(p.item) : 0;
    if (!(lane >= 0 && lane < queues.length)) throw new Error(`group commit: no lane ${lane}`);
    queues[lane].push(p);
    schedule();
  }

  function schedule(): void {
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(drainQueue);
    }
  }

  function drainQueue(): void {
    scheduled = false;
    for (let lane = 0; lane < queues.length; lane++) {
      while (inflight[lane] < maxInflight[lane] && queues[lane].length > 0) {
        const batch = takeBatch(lane);
        if (batch.length === 0) break;
        inflight[lane]++;
        const locks = lockOf ? hold(held[lane], batch) : null;
        runBatch(batch, lane).finally(() => {
          inflight[lane]--;
          if (locks) release(held[lane], locks);
          if (queues.some((q) => q.length > 0)) schedule();
        });
      }
    }
  }

  /** Up to maxBatch of the lane's queue, in arrival order, leaving the items whose lock a running batch of the lane holds. */
  function takeBatch(lane: number): Pending<Item, Result>[] {
    const locked = held[lane];
    if (!lockOf || locked.size === 0) return queues[lane].splice(0, maxBatch);
    const batch: Pending<Item, Result>[] = [];
    const left: Pending<Item, Result>[] = [];
    for (const p of queues[lane]) {
      if (batch.length < maxBatch && !locked.has(lockOf(p.item))) batch.push(p);
      else left.push(p);
    }
    queues[lane] = left;
    return batch;
  }

  function hold(locked: Map<string, number>, batch: readonly Pending<Item, Result>[]): string[] {
    const locks = [...new Set(batch.map((p) => lockOf!(p.item)))];
    for (const lock of locks) locked.set(lock, (locked.get(lock) ?? 0) + 1);
    return locks;
  }

  function release(locked: Map<string, number>, locks: readonly string[]): void {
    for (const lock of locks) {
      const count = locked.get(lock)! - 1;
      if (count === 0) locked.delete(lock);
      else locked.set(lock, count);
    }
  }

  async function runBatch(batch: Pending<Item, Result>[], lane: number): Promise<void> {
    let rows: readonly Row[];
    try {
      rows = await flush(batch, lane);
      if (rows.length !== batch.length) throw new Error(`group commit: ${rows.length} answers for a batch of ${batch.length}`);
    } catch (err) {
      for (const p of batch) {
        leaders.delete(keyOf(p.item));
        p.reject(err);
        for (const f of p.followers) f.reject(err);
      }
      return;
    }
    for (const row of rows) {
      const p = batch[indexOf(row)];
      const outcome = decide(p.item, row);
      if (outcome === REQUEUE) queueIn(p);
      else settle(p, outcome);
    }
  }

  function settle(leader: Pending<Item, Result>, outcome: Outcome<Result>): void {
    leaders.delete(keyOf(leader.item));
    deliver(leader, outcome);
    for (const f of leader.followers) {
      const answer = follow(leader.item, f.item, outcome);
      // A follower never has followers of its own (repeats join the leader), so it goes back as is.
      if (answer) deliver(f, answer);
      else enqueue(f);
    }
  }

  function deliver(p: Pending<Item, Result>, outcome: Outcome<Result>): void {
    if (outcome.ok) p.resolve(outcome.value);
    else p.reject(outcome.error());
  }

  return {
    submit: (item) => new Promise<Result>((resolve, reject) => enqueue({ item, resolve, reject, followers: [] })),
    drain: async () => {
      while (scheduled || inflight.some((n) => n > 0) || queues.some((q) => q.length > 0)) await Bun.sleep(5);
    },
  };
}
