// Micro-measurement of what observation adds to one hot-path request, without a server or a
// database: the Bun.serve wrapper (route, histogram child, SLO bucket) around a handler that
// answers at once, metrics on vs off. `METRICS=off bun bench/observe-micro.ts` for the other half.
// Needs only a DATABASE_URL to satisfy the config (no connection is made).
export {};
process.env.DATABASE_URL ??= "postgres://unused@127.0.0.1:1/unused";
process.env.LOG_LEVEL = "warn";
const { observeHttp } = await import("../app/server/observe/http-metrics.server");
const { config } = await import("../app/server/platform/config.server");

const answer = new Response("{}");
const handler = async () => answer;
const observed = observeHttp(handler, () => "unmatched");
const requests = ["http://127.0.0.1/api/v1/quota", "http://127.0.0.1/api/v1/usage"].map((u) => new Request(u));
const N = 1_000_000;

async function time(fn: (r: Request) => Promise<Response>): Promise<number> {
  for (let i = 0; i < 50_000; i++) await fn(requests[i & 1]); // warm-up
  const start = performance.now();
  for (let i = 0; i < N; i++) await fn(requests[i & 1]);
  return ((performance.now() - start) * 1000) / N; // µs per call
}

const bare = await time(handler);
const wrapped = await time(observed);
console.log(
  JSON.stringify({ metrics: config.METRICS, bare_us: +bare.toFixed(3), observed_us: +wrapped.toFixed(3), overhead_us: +(wrapped - bare).toFixed(3) }),
);
process.exit(0);
