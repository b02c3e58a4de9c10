// Load generator for `bun run bench` (runs under Node with autocannon, in its own process so it
// does not share an event loop with what it measures). Input: one JSON scenario on argv[2].
// Output: one JSON object on stdout.
import autocannon from "autocannon";

const s = JSON.parse(process.argv[2]);
const statuses = {};
let replayed = 0;
let seq = 0;
const recent = [];

function usageBody(_ctx) {
  // Every `dupEvery`-th request repeats a recent request_id of the same org with the same body.
  if (s.dupEvery && seq % s.dupEvery === 0 && recent.length > 0) return recent[(seq * 7919) % recent.length];
  const key = s.keys[seq % s.keys.length];
  const body = JSON.stringify({ request_id: `${s.runId}-${seq}`, metric: "api_call", quantity: s.quantity ?? 1 });
  const entry = { key, body };
  if (s.dupEvery) {
    recent.push(entry);
    if (recent.length > 1000) recent.shift();
  }
  return entry;
}

const instance = autocannon(
  {
    url: s.url,
    connections: s.connections,
    duration: s.duration,
    overallRate: s.overallRate,
    pipelining: 1,
    requests: [
      {
        setupRequest(req) {
          seq++;
          if (s.kind === "usage") {
            const { key, body } = usageBody();
            return { ...req, method: "POST", path: "/api/v1/usage", body, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } };
          }
          if (s.kind === "page") return { ...req, method: "GET", path: s.path, headers: { cookie: s.cookie } };
          if (s.kind === "quota")
            return { ...req, method: "GET", path: "/api/v1/quota?metric=api_call", headers: { authorization: `Bearer ${s.keys[seq % s.keys.length]}` } };
          return { ...req, method: "GET", path: "/" };
        },
        onResponse(status, _body, _ctx, headers) {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (headers && (headers["Idempotent-Replayed"] ?? headers["idempotent-replayed"]) === "true") replayed++;
        },
      },
    ],
  },
  (err, result) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    const total = Object.values(statuses).reduce((a, b) => a + b, 0);
    const expected = new Set(s.expect ?? [200]);
    const unexpected = Object.entries(statuses)
      .filter(([k]) => !expected.has(Number(k)))
      .reduce((a, [, v]) => a + v, 0);
    console.log(
      JSON.stringify({
        rps: total / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        p97_5: result.latency.p97_5,
        errors: result.errors + result.timeouts + unexpected,
        statuses,
        replayed,
        total,
        duration: result.duration,
      }),
    );
  },
);
autocannon.track(instance, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
