// docs/api.md and the client's types (client/src/api-types.ts) are generated from the code;
// `doc:all --check` fails CI when a committed one is stale.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const tmp = mkdtempSync(join(tmpdir(), "doc-all-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Without a DATABASE_URL: the generator needs none (a developer's shell, CI's lint job).
const { DATABASE_URL: _url, ...env } = process.env;
const docAll = (...args: string[]) => Bun.spawnSync(["bun", "scripts/doc-all.ts", ...args], { cwd: root, env, stdout: "pipe", stderr: "pipe" });
const GENERATED = ["docs/api.md", "client/src/api-types.ts"];

test("the committed docs/api.md and client types are what the code generates", () => {
  const run = docAll("--check");
  expect(run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
});

test("--check exits 1 naming each stale file and changes nothing; without it the files are rewritten", () => {
  mkdirSync(join(tmp, "docs"));
  mkdirSync(join(tmp, "client/src"), { recursive: true });
  const staleMd = readFileSync(join(root, "docs/api.md"), "utf8").replace("## Versioning", "## Versions");
  const staleTypes = readFileSync(join(root, "client/src/api-types.ts"), "utf8").replace("allow: boolean;", "allow: string;");
  writeFileSync(join(tmp, "docs/api.md"), staleMd);
  writeFileSync(join(tmp, "client/src/api-types.ts"), staleTypes);
  const check = docAll("--check", "--dir", tmp);
  expect(check.exitCode).toBe(1);
  for (const name of GENERATED) expect(check.stderr.toString()).toContain(`stale: ${name}`);
  expect(readFileSync(join(tmp, "docs/api.md"), "utf8")).toBe(staleMd);
  expect(readFileSync(join(tmp, "client/src/api-types.ts"), "utf8")).toBe(staleTypes);
  expect(docAll("--dir", tmp).exitCode).toBe(0);
  expect(docAll("--check", "--dir", tmp).exitCode).toBe(0);
  for (const name of GENERATED) expect(readFileSync(join(tmp, name), "utf8")).toBe(readFileSync(join(root, name), "utf8"));
});

test("the generated contract documents every route, error code and the versioning policy", () => {
  const md = readFileSync(join(root, "docs/api.md"), "utf8");
  for (const heading of ["## Envelope", "## Error codes", "## Versioning", "`GET /api/v1/quota`", "`POST /api/v1/usage`", "`DELETE /api/v1/keys/{id}`"]) {
    expect(md).toContain(heading);
  }
  expect(md).not.toMatch(/\.\.\/shared|\b[45]\.[123]\b/);
});

test("the client's types are the document's: the answers it returns and every error code", () => {
  const types = readFileSync(join(root, "client/src/api-types.ts"), "utf8");
  for (const name of ["QuotaSummary", "UsageBody", "ErrorEnvelope", "Entitlements"]) expect(types).toContain(`export type ${name} = {`);
  // A usage answer is one feature's record or several features' (a request with `quantities`).
  expect(types).toContain("export type UsageAnswer =\n  | {");
  expect(types).toContain('"PREVIEW_EXPIRED"');
  expect(types).not.toMatch(/\bimport\b/); // the client has no dependencies, at run time or for its types
});
