// `npm pack` in client/ makes a tarball that installs offline (no dependencies) and works on
// Node, with or without a global crypto: the installed package records usage against the real app.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, type TestApp } from "../../test/app";
import { countsOf, orgWithKey } from "../../test/factories";

const clientDir = join(import.meta.dir, "..");
let app: TestApp;
let work: string;
beforeAll(async () => {
  app = await startApp();
  work = mkdtempSync(join(tmpdir(), "metered-client-pack-"));
});
afterAll(async () => {
  await app.stop();
  rmSync(work, { recursive: true, force: true });
});

function run(cmd: string[], cwd: string) {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, npm_config_update_notifier: "false" } });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${p.exitCode}):\n${p.stdout.toString()}\n${p.stderr.toString()}`);
  return p.stdout.toString();
}

test("npm pack makes a tarball that installs offline and runs on Node", async () => {
  run(["npm", "pack", "--pack-destination", work], clientDir);
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
  expect(tarball).toBe("metered-client-0.1.0.tgz");
  const listing = run(["tar", "-tzf", join(work, tarball!)], work);
  expect(listing).toContain("package/dist/index.js");
  expect(listing).toContain("package/dist/index.d.ts");
  expect(listing).not.toContain("package/src/");
  expect(listing).not.toContain("package/test/");

  const project = join(work, "project");
  run(["mkdir", "-p", project], work);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  run(["npm", "install", "--offline", "--no-audit", "--no-fund", join(work, tarball!)], project);

  const org = await orgWithKey({ included: 5 });
  const script = `
    import { Metered, uuidv7 } from "@metered/client";
    const metered = new Metered({ apiKey: process.env.KEY, baseUrl: process.env.BASE });
    const result = await metered.record({ quantity: 2 });
    const quota = await metered.quota();
    console.log(JSON.stringify({ result, quota, id: uuidv7() }));`;
  writeFileSync(join(project, "use.mjs"), script);
  const p = Bun.spawnSync(["node", "use.mjs"], { cwd: project, stdout: "pipe", stderr: "pipe", env: { ...process.env, KEY: org.key, BASE: app.url } });
  expect(p.stderr.toString()).toBe("");
  const out = JSON.parse(p.stdout.toString());
  expect(out.result).toMatchObject({ admitted: true, decidedBy: "platform", used: 2, remaining: 3 });
  expect(out.quota).toMatchObject({ used: 2, included: 5, allow: true });
  expect(out.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  expect(await countsOf(org.orgId)).toEqual({ used: 2, ledger: 2, rows: 1 });

  // Node 18 has no global crypto: the package falls back to node:crypto for its UUIDv7s.
  writeFileSync(join(project, "no-global-crypto.mjs"), `delete globalThis.crypto;\n${script}`);
  const old = Bun.spawnSync(["node", "no-global-crypto.mjs"], {
    cwd: project,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, KEY: org.key, BASE: app.url },
  });
  expect(old.stderr.toString()).toBe("");
  expect(JSON.parse(old.stdout.toString()).result).toMatchObject({ admitted: true, used: 4 });
}, 60_000);
