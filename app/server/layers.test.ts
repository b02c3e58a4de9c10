// The server's layers point one way (docs/layers.md): each folder of app/server imports only the
// folders its row allows, and no file imports itself back through others, anywhere in the
// project. The table is read from docs/layers.md, so the document and the check are one.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { Glob } from "bun";

const ROOT = join(import.meta.dir, "../..");
const SERVER = "app/server";

/** docs/layers.md's table: folder → the folders it may import. */
function allowedImports(markdown: string): Map<string, Set<string>> {
  const rows = markdown.split("\n").filter((l) => /^\| `[a-z]+` /.test(l));
  return new Map(
    rows.map((row) => {
      const cells = row.split("|").map((c) => c.trim());
      const folder = cells[1].replaceAll("`", "");
      const may = cells[3] ? cells[3].split(",").map((c) => c.trim()) : [];
      return [folder, new Set(may)];
    }),
  );
}

type Edge = { from: string; to: string; deferred: boolean };

const SPECIFIER = /(?:^|[^.\w])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm;

/** A file's imports of project files: static (`import … from`, `export … from`) and deferred (`import()`). */
function importsOf(file: string, source: string): Edge[] {
  const edges: Edge[] = [];
  for (const m of source.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const target = resolve(file, spec);
    if (target) edges.push({ from: file, to: target, deferred: m[3] !== undefined });
  }
  return edges;
}

function resolve(file: string, spec: string): string | null {
  let base: string;
  if (spec.startsWith("~/")) base = join("app", spec.slice(2));
  else if (spec.startsWith(".")) base = normalize(join(dirname(file), spec));
  else return null;
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, "index.ts")]) {
    if (existsSync(join(ROOT, candidate)) && /\.tsx?$/.test(candidate)) return candidate;
  }
  return null; // a stylesheet or asset
}

/** The folder of app/server a file belongs to ("." for the modules at its top), or null outside. */
function folderOf(file: string): string | null {
  if (!file.startsWith(`${SERVER}/`)) return null;
  const rest = file.slice(SERVER.length + 1);
  return rest.includes("/") ? rest.slice(0, rest.indexOf("/")) : ".";
}

/** Layer violations: imports from an app/server folder to a folder its row does not allow. */
function upwardImports(edges: Edge[], allowed: Map<string, Set<string>>): string[] {
  const wrong: string[] = [];
  for (const { from, to } of edges) {
    const a = folderOf(from);
    if (a === null || a === ".") continue;
    const b = folderOf(to);
    const may = allowed.get(a);
    if (!may) wrong.push(`${from}: folder ${a} is not in docs/layers.md`);
    else if (b === null) {
      // Outside app/server only db/ (below everything) and the browser-safe app/*.ts modules; the
      // OpenAPI document also reads the route modules that declare the contract.
      const ok = to.startsWith("db/") || /^app\/[^/]+\.tsx?$/.test(to) || (a === "openapi" && to.startsWith("app/routes/"));
      if (!ok) wrong.push(`${from} → ${to}`);
    } else if (b !== a && !may.has(b)) wrong.push(`${from} → ${to} (${a} may not import ${b})`);
  }
  return wrong;
}

/** Cycles among static imports (Tarjan): each cycle as its files, sorted. */
function cyclesOf(edges: Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (!e.deferred) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (next.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of next.keys()) if (!idx.has(v)) visit(v);
  return cycles;
}

function projectEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const pattern of [
    "app/**/*.{ts,tsx}",
    "db/**/*.ts",
    "stripe-emulator/**/*.ts",
    "stigg-emulator/**/*.ts",
    "worker/**/*.ts",
    "cli/**/*.ts",
    "scripts/**/*.ts",
    "server.ts",
  ]) {
    for (const path of new Glob(pattern).scanSync({ cwd: ROOT })) {
      if (/\.test\.tsx?$/.test(path)) continue;
      const file = relative(ROOT, join(ROOT, path));
      edges.push(...importsOf(file, readFileSync(join(ROOT, file), "utf8")));
    }
  }
  return edges;
}

describe("layers (docs/layers.md)", () => {
  const allowed = allowedImports(readFileSync(join(ROOT, "docs/layers.md"), "utf8"));
  const edges = projectEdges();

  test("the table names every folder of app/server", () => {
    const folders = new Set(edges.map((e) => folderOf(e.from)).filter((f): f is string => f !== null && f !== "."));
    expect([...folders].filter((f) => !allowed.has(f))).toEqual([]);
    expect(allowed.size).toBeGreaterThan(10);
  });

  test("no folder imports one its row does not allow", () => {
    expect(upwardImports(edges, allowed)).toEqual([]);
  });

  test("no import cycle between files", () => {
    expect(cyclesOf(edges)).toEqual([]);
  });

  test("server.ts imports nothing of the app: only the build", () => {
    expect(edges.filter((e) => e.from === "server.ts")).toEqual([]);
  });

  test("the check itself: an upward import and a cycle are found", () => {
    const planted: Edge[] = [
      { from: "app/server/platform/config.server.ts", to: "app/server/billing/plans.server.ts", deferred: false },
      { from: "app/server/billing/plans.server.ts", to: "app/server/platform/config.server.ts", deferred: false },
    ];
    expect(upwardImports(planted, allowed)).toEqual([
      "app/server/platform/config.server.ts → app/server/billing/plans.server.ts (platform may not import billing)",
    ]);
    expect(cyclesOf(planted)).toEqual([["app/server/billing/plans.server.ts", "app/server/platform/config.server.ts"]]);
    expect(importsOf("app/server/x.ts", 'import type { A } from "./platform/config.server";\nconst m = await import("./billing/plans.server");')).toEqual([
      { from: "app/server/x.ts", to: "app/server/platform/config.server.ts", deferred: false },
      { from: "app/server/x.ts", to: "app/server/billing/plans.server.ts", deferred: true },
    ]);
  });
});
