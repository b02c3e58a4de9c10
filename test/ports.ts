// A port found free just now: for a process that must know its address before it starts
// (Stripe's webhook URL, the app's base URL). Whoever binds it next fails loudly if it was taken.
// It is taken below the kernel's ephemeral range (32768 and up on Linux): a port the OS hands out
// for port 0 is one it also gives outgoing connections (to Postgres, Redis, a local Stripe), so
// between this probe and the bind, any process of a parallel test could take it (EADDRINUSE).
// Above the fixed ports the tools default to (12111, 12112, 12200, 12201).
const LOW = 20_000;
const HIGH = 32_768;

export function freePort(): number {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    try {
      Bun.serve({ hostname: "127.0.0.1", port, fetch: () => new Response() }).stop(true);
      return port;
    } catch {
      // in use: another one
    }
  }
  throw new Error(`freePort: no free port found between ${LOW} and ${HIGH}`);
}
