// The baseline: a bare Bun.serve answering the same JSON body as the quota route, nothing else.
const body = JSON.stringify({
  ok: true,
  data: {
    allow: true,
    remaining: 49990,
    used: 10,
    included: 50000,
    metric: "api_call",
    periodKey: "2026-11",
    periodStart: "2026-11-05T00:00:00.000Z",
    periodEnd: "2026-12-05T00:00:00.000Z",
    planCode: "starter",
    status: "active",
  },
});
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  fetch: () => new Response(body, { headers: { "Content-Type": "application/json; charset=utf-8" } }),
});
console.log(JSON.stringify({ port: server.port }));
