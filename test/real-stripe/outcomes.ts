// What every run of the flows must show, against Stripe or the local Stripe: each step answered,
// and the refusals refused the way Stripe refuses them.
import { expect } from "bun:test";
import type { Recording } from "./recording";

/** Steps that must be refused, with the status Stripe answers. */
export const REFUSED: Record<string, number> = {
  "checkout.sessions.expire again": 400,
  "meter_events.create duplicate": 400,
  "refused unknown parameter": 400,
  "refused missing object": 404,
  "idempotent other body": 400,
};

export function expectFlowOutcomes(r: Recording) {
  const steps = new Map(r.steps.map((s) => [s.step, s]));
  for (const name of ["customers.create", "checkout.sessions.create", "subscriptions.create", "invoices.create_preview", "subscriptions.update upgrade"])
    expect([name, steps.get(name)?.answer.ok]).toEqual([name, true]);
  for (const name of ["subscription_schedules.update downgrade", "meter_events.create", "invoices.list", "events.list"])
    expect([name, steps.get(name)?.answer.ok]).toEqual([name, true]);
  for (const [name, status] of Object.entries(REFUSED)) {
    const s = steps.get(name)!;
    expect([name, s.answer.ok, s.answer.ok ? null : s.answer.status]).toEqual([name, false, status]);
  }
  const created = steps.get("subscriptions.create")!;
  expect((created.answer as { body: { status: string } }).body.status).toBe("active");
  // Nothing secret is kept.
  expect(JSON.stringify(r)).not.toMatch(/(sk|rk)_(test|live)_[A-Za-z0-9]{8}|whsec_[A-Za-z0-9]{8}/);
}
