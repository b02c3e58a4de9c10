// Group commit: callers submit items one at a time; the items waiting together are handed, as one
// batch, to an async flush function (one statement, one commit for all of them), and each caller
// gets its own item's answer back.
//
// - While maxInflight batches are running, new items wait in the queue; a batch takes up to
//   maxBatch of them, in arrival order.
// - Items with the same key as one already queued or running ("followers") wait on that one
//   ("the leader") instead of taking a slot of their own, so a batch never repeats a key. When the
//   leader is answered, `follow` says what each follower gets, or that it is decided afresh.
// - flush returns one row per item of its batch (in any order: indexOf says whose it is); once it
//   has returned, `decide` turns each row into its item's Outcome, or REQUEUE for an item the batch
//   could not decide, which goes back to the queue (keeping its followers) for a later batch.
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
  maxInflight: number;
  keyOf: (item: Item) => string;
  /** One call per batch; one row per item. */
  flush: (batch: readonly Queued<Item>[]) => Promise<readonly Row[]>;
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
  const { maxBatch, maxInflight, keyOf, flush, indexOf, decide, follow } = options;
  const queue: Pending<Item, Result>[] = [];
  const leaders = new Map<string, Pending<Item, Result>>();
  let inflight = 0;
  let scheduled = false;

  function enqueue(p: Pending<Item, Result>): void {
    const key = keyOf(p.item);
    const leader = leaders.get(key);
    if (leader) {
      leader.followers.push(p);
      return;
    }
    leaders.set(key, p);
    queue.push(p);
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
    while (inflight < maxInflight && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      inflight++;
      runBatch(batch).finally(() => {
        inflight--;
        if (queue.length > 0) schedule();
      });
    }
  }

  async function runBatch(batch: Pending<Item, Result>[]): Promise<void> {
    let rows: readonly Row[];
    try {
      rows = await flush(batch);
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
      if (outcome === REQUEUE) queue.push(p);
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
      while (scheduled || inflight > 0 || queue.length > 0) await Bun.sleep(5);
    },
  };
}
