// A port the OS found free just now: for a process that must know its address before it starts
// (Stripe's webhook URL, the app's base URL). Whoever binds it next fails loudly if it was taken.
export function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}
