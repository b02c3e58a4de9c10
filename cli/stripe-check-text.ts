// How `ops stripe:check` reads for people: a line per check (green ✓ passes, yellow ! warnings,
// red ✗ failures), then the numbered list of what to fix, each with its Dashboard path and the
// exact API request.
import type { CheckLine, StripeCheckReport } from "../app/server/billing/check-lines.server";

const MARK = { pass: "✓", warn: "!", fail: "✗" } as const;
const COLOUR = { pass: 32, warn: 33, fail: 31 } as const;

export function stripeCheckText(r: StripeCheckReport, colour: boolean): string {
  const paint = (status: CheckLine["status"], text: string) => (colour ? `\x1b[${COLOUR[status]}m${text}\x1b[0m` : text);
  const out = [`Stripe check: ${r.mode === "local" ? "the local Stripe" : `${r.mode} mode, key ${r.key}`}`];
  for (const l of r.lines) out.push(paint(l.status, `  ${MARK[l.status]} ${l.area.padEnd(8)} ${l.check}: ${l.detail}`));
  const toFix = r.lines.filter((l) => l.status !== "pass" && l.fix?.length);
  out.push("", `${r.passed} passed, ${r.warnings} warning${r.warnings === 1 ? "" : "s"}, ${r.failures} to fix${toFix.length ? ":" : "."}`);
  toFix.forEach((l, i) => {
    out.push(paint(l.status, `  ${i + 1}. ${l.status === "fail" ? "fix" : "consider"} (${l.area}, ${l.check}): ${l.detail}`));
    for (const step of l.fix ?? []) out.push(`     ${step}`);
  });
  return out.join("\n");
}
