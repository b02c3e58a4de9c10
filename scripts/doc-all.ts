// `bun run doc:all`: writes the generated docs (docs/api.md, from the OpenAPI document and its
// prose). `--check`: changes nothing, exits 1 naming each stale file (CI runs this).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderApiMd } from "./doc/api-md";

const args = process.argv.slice(2);
const check = args.includes("--check");
const dirFlag = args.indexOf("--dir"); // another docs folder (tests)
const docsDir = dirFlag >= 0 ? args[dirFlag + 1] : join(import.meta.dir, "..", "docs");

const root = join(import.meta.dir, "..");

/** The repository's formatter (Biome formats Markdown too), so `biome ci` and `--check` agree. */
function formatted(name: string, text: string): string {
  const biome = Bun.spawnSync([join(root, "node_modules/.bin/biome"), "format", `--stdin-file-path=docs/${name}`], {
    cwd: root,
    stdin: new TextEncoder().encode(text),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (biome.exitCode !== 0) throw new Error(`biome could not format docs/${name}: ${biome.stderr.toString()}`);
  return biome.stdout.toString();
}

const generated: Record<string, string> = { "api.md": formatted("api.md", renderApiMd()) };

let stale = 0;
for (const [name, text] of Object.entries(generated)) {
  const path = join(docsDir, name);
  const current = existsSync(path) ? readFileSync(path, "utf8") : null;
  if (current === text) continue;
  if (check) {
    stale++;
    console.error(`stale: docs/${name} differs from what the code generates; run \`bun run doc:all\` and commit it.`);
  } else {
    writeFileSync(path, text);
    console.log(`wrote docs/${name}`);
  }
}
process.exit(stale > 0 ? 1 : 0);
