// Compares two recordings of the same flows (recording.ts) by shape, not value: for each step,
// the fields Stripe answered that the local Stripe did not (or the other way round), fields of
// another type, and steps that succeeded on one side and were refused on the other. A field that
// is null on one side and has a value on the other is a difference of data, listed apart.
//
//   bun test/real-stripe/shape-diff.ts <stripe.json> <local.json>   compare two recordings
//   bun test/real-stripe/shape-diff.ts <stripe.json>                 run the flows against a fresh
//                                                                    local Stripe and compare
// Exits 1 when a field is missing or of another type, or a step's outcome differs.
import type { Recording, Step } from "./recording";

type Kind = "string" | "number" | "boolean" | "null" | "object" | "array";
type Shape = Map<string, Set<Kind>>;

const kindOf = (v: unknown): Kind => (v === null ? "null" : Array.isArray(v) ? "array" : (typeof v as Kind));

/** Every path of a value with the kinds seen there; array items merge under `path[]`. */
export function shapeOf(value: unknown, path = "$", out: Shape = new Map()): Shape {
  const kinds = out.get(path) ?? new Set<Kind>();
  kinds.add(kindOf(value));
  out.set(path, kinds);
  if (Array.isArray(value)) for (const item of value) shapeOf(item, `${path}[]`, out);
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) shapeOf(v, `${path}.${k}`, out);
  return out;
}

export type StepDiff = {
  step: string;
  /** Only one side has the step, or one side answered and the other refused. */
  outcome?: string;
  missingLocally: string[];
  extraLocally: string[];
  typeMismatch: { path: string; stripe: Kind[]; local: Kind[] }[];
  /** Null on one side, a value on the other: the data differs, the field is there on both. */
  nullOnOneSide: string[];
};

const answerBody = (s: Step) => (s.answer.ok ? s.answer.body : { error: s.answer.error, status: s.answer.status });

const parentOf = (path: string) => (path.endsWith("[]") ? path.slice(0, -2) : path.slice(0, path.lastIndexOf(".")));

/**
 * Whether a path absent on the other side says nothing new: its parent is absent there too (the
 * parent is the one listed), null or a scalar there, or it is an item of an array empty there.
 */
function hiddenBy(path: string, other: Shape): boolean {
  if (path === "$") return false;
  const parent = other.get(parentOf(path));
  if (!parent) return true;
  if (path.endsWith("[]")) return true;
  return !parent.has("object");
}

export function diffRecordings(stripe: Recording, local: Recording): StepDiff[] {
  const byName = (r: Recording) => new Map(r.steps.map((s) => [s.step, s]));
  const theirs = byName(stripe);
  const ours = byName(local);
  const diffs: StepDiff[] = [];
  for (const name of new Set([...theirs.keys(), ...ours.keys()])) {
    const a = theirs.get(name);
    const b = ours.get(name);
    const d: StepDiff = { step: name, missingLocally: [], extraLocally: [], typeMismatch: [], nullOnOneSide: [] };
    if (!a || !b) d.outcome = a ? "made against Stripe only" : "made against the local Stripe only";
    else if (a.answer.ok !== b.answer.ok)
      d.outcome = `Stripe ${a.answer.ok ? "answered" : `refused (${a.answer.status})`}, the local Stripe ${b.answer.ok ? "answered" : `refused (${b.answer.status})`}`;
    if (a && b) {
      const sa = shapeOf(answerBody(a));
      const sb = shapeOf(answerBody(b));
      for (const [path, kinds] of sa) {
        const other = sb.get(path);
        if (!other) {
          if (!hiddenBy(path, sb)) d.missingLocally.push(path);
          continue;
        }
        const real = [...kinds].filter((k) => k !== "null");
        const mine = [...other].filter((k) => k !== "null");
        if (real.length && mine.length && !real.some((k) => mine.includes(k))) d.typeMismatch.push({ path, stripe: [...kinds], local: [...other] });
        else if (kinds.has("null") !== other.has("null") && (real.length === 0 || mine.length === 0)) d.nullOnOneSide.push(path);
      }
      for (const path of sb.keys()) if (!sa.has(path) && !hiddenBy(path, sa)) d.extraLocally.push(path);
    }
    if (d.outcome || d.missingLocally.length || d.extraLocally.length || d.typeMismatch.length || d.nullOnOneSide.length) diffs.push(d);
  }
  return diffs;
}

/** Whether the differences matter: a missing field, a field of another type, another outcome. */
export const breaking = (diffs: StepDiff[]) => diffs.some((d) => d.outcome || d.missingLocally.length || d.typeMismatch.length);

export function diffText(diffs: StepDiff[]): string {
  if (diffs.length === 0) return "same shapes in every step";
  const out: string[] = [];
  for (const d of diffs) {
    out.push(`${d.step}${d.outcome ? `: ${d.outcome}` : ""}`);
    for (const p of d.missingLocally) out.push(`  missing locally   ${p}`);
    for (const t of d.typeMismatch) out.push(`  other type        ${t.path}: Stripe ${t.stripe.join("|")}, local ${t.local.join("|")}`);
    for (const p of d.extraLocally) out.push(`  only locally      ${p}`);
    for (const p of d.nullOnOneSide) out.push(`  null on one side  ${p}`);
  }
  return out.join("\n");
}

if (import.meta.main) {
  const [stripePath, localPath] = process.argv.slice(2);
  if (!stripePath) {
    console.error("usage: bun test/real-stripe/shape-diff.ts <stripe-recording.json> [<local-recording.json>]");
    process.exit(2);
  }
  const { readRecording } = await import("./recording");
  const local = localPath ? readRecording(localPath) : await (await import("./local-run")).recordLocally();
  const diffs = diffRecordings(readRecording(stripePath), local);
  console.log(diffText(diffs));
  process.exit(breaking(diffs) ? 1 : 0);
}
