// The app's routes as the walking tests see them: every route file of app/routes/ and the URLs
// its Remix flat-route file name stands for. A new route is walked without touching the tests.
import { readdirSync } from "node:fs";
import { join } from "node:path";

const routesDir = join(import.meta.dir, "../app/routes");

export const routeFiles = readdirSync(routesDir)
  .filter((f) => /\.(ts|tsx)$/.test(f) && !/\.test\.tsx?$/.test(f))
  .sort();

/** Values for dynamic segments: the splat (`$`) and a named one (`$id`), unless a test gives its own. */
export type SegmentValues = { splat?: string[]; param?: (name: string) => string[] };

const DEFAULT_VALUES: Required<SegmentValues> = {
  splat: ["walk/deeper/still", "%ff%00"],
  param: () => ["walk_unknown", "%ff%00", "%E2%82%AC"],
};

/** Remix flat-route file name → the URLs to walk. `[…]` escapes its text (`[.]` a dot, `[test]` a word), as in Remix. */
export function urlsOf(file: string, values: SegmentValues = {}): string[] {
  const { splat, param } = { ...DEFAULT_VALUES, ...values };
  const name = file.replace(/\.tsx?$/, "").replace(/\[([^\]]*)\]/g, (_, text: string) => text.replaceAll(".", "~"));
  // Optional segments, other escapes and the like are not understood here: fail loudly, not skip.
  if (!/^[A-Za-z0-9_$.~-]+$/.test(name)) throw new Error(`the route walk does not understand the route file name ${file}`);
  let urls = [""];
  for (const raw of name.split(".")) {
    const segment = raw.replaceAll("~", ".");
    if (segment === "_index" || segment.startsWith("_")) continue; // index, pathless layout
    const choices = segment === "$" ? splat : segment.startsWith("$") ? param(segment.slice(1)) : [segment.replace(/_$/, "")];
    urls = urls.flatMap((u) => choices.map((v) => `${u}/${v}`));
  }
  return urls.map((u) => u || "/");
}
