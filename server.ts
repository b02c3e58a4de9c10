// The production HTTP server's entry: loads the Remix build and hands it to the app, which serves
// it (app/server/main.server.ts, exported by the build's entry). Nothing of the app is imported
// from source here, so each module exists once per process: the one the build bundled.

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ServerBuild } from "@remix-run/node";

type AppEntry = {
  initSentry: (service: "app") => Promise<boolean>;
  startServer: (build: ServerBuild, opts: { publicDir: string }) => Promise<void>;
};

const buildPath = join(import.meta.dir, "build", "index.js");
if (!existsSync(buildPath)) {
  console.error("No Remix build found: run `bun run build` first.");
  process.exit(1);
}
const build = (await import(buildPath)) as ServerBuild;
const app = build.entry.module as unknown as AppEntry;
// Error tracking first (a no-op without SENTRY_DSN), then the server.
await app.initSentry("app");
await app.startServer(build, { publicDir: join(import.meta.dir, "public") });
