// docs/api.md is generated from the code; `doc:all --check` fails CI when the committed file is stale.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const tmp = mkdtempSync(join(tmpdir(), "doc-all-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const docAll = (...args: string[]) => Bun.spawnSync(["bun", "scripts/doc-all.ts", ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });

test("the committed docs/api.md is what the code generates", () => {
  const run = docAll("--check");
  expect(run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
});

test("--check exits 1 naming a stale file and changes nothing; without it the file is rewritten", () => {
  const stale = readFileSync(join(root, "docs/api.md"), "utf8").replace("## Versioning", "## Versions");
  writeFileSync(join(tmp, "api.md"), stale);
  const check = docAll("--check", "--dir", tmp);
  expect(check.exitCode).toBe(1);
  expect(check.stderr.toString()).toContain("stale: docs/api.md");
  expect(readFileSync(join(tmp, "api.md"), "utf8")).toBe(stale);
  expect(docAll("--dir", tmp).exitCode).toBe(0);
  expect(docAll("--check", "--dir", tmp).exitCode).toBe(0);
});

test("the generated contract documents every route, error code and the versioning policy", () => {
  const md = readFileSync(join(root, "docs/api.md"), "utf8");
  for (const heading of ["## Envelope", "## Error codes", "## Versioning", "`GET /api/v1/quota`", "`POST /api/v1/usage`", "`DELETE /api/v1/keys/{id}`"]) {
    expect(md).toContain(heading);
  }
  expect(md).not.toMatch(/\.\.\/shared|\b[45]\.[123]\b/);
});
