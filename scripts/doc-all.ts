// `bun run doc:all`: writes the files generated from the OpenAPI document: docs/api.md (with its
// prose) and client/src/api-types.ts (the client's types of the API). `--check`: changes nothing,
// exits 1 naming each stale file (CI runs this). `--dir <folder>`: reads and writes them under
// another folder instead of the repository (tests).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

// The document is made from the route modules' declarations, and loading them loads the app's
// configuration, which wants a database URL: nothing here connects, so any will do.
process.env.DATABASE_URL ||= "postgres://doc-all@127.0.0.1:1/none";
process.env.LOG_LEVEL ||= "error";
const { renderApiMd } = await import("./doc/api-md");
const { renderClientTypes } = await import("./doc/client-types");

const args = process.argv.slice(2);
const check = args.includes("--check");
const root = join(import.meta.dir, "..");
const dirFlag = args.indexOf("--dir");
const outDir = dirFlag >= 0 ? args[dirFlag + 1] : root;

/** The repository's formatter (Biome formats Markdown too), so `biome ci` and `--check` agree. */
function formatted(path: string, text: string): string {
  const biome = Bun.spawnSync([join(root, "node_modules/.bin/biome"), "format", `--stdin-file-path=${path}`], {
    cwd: root,
    stdin: new TextEncoder().encode(text),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (biome.exitCode !== 0) throw new Error(`biome could not format ${path}: ${biome.stderr.toString()}`);
  return biome.stdout.toString();
}

const generated: Record<string, string> = {
  "docs/api.md": formatted("docs/api.md", renderApiMd()),
  "client/src/api-types.ts": formatted("client/src/api-types.ts", renderClientTypes()),
};

let stale = 0;
for (const [name, text] of Object.entries(generated)) {
  const path = join(outDir, name);
  const current = existsSync(path) ? readFileSync(path, "utf8") : null;
  if (current === text) continue;
  if (check) {
    stale++;
    console.error(`stale: ${name} differs from what the code generates; run \`bun run doc:all\` and commit it.`);
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    console.log(`wrote ${name}`);
  }
}
process.exit(stale > 0 ? 1 : 0);
