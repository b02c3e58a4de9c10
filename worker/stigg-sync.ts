// Provisions an org's customer and current plan in Stigg, after the database converged to Stripe.
import type { Task } from "graphile-worker";
import { eq } from "drizzle-orm";
import { db, schema } from "../app/server/platform/db.server";
import { provisionInStigg } from "../app/server/stigg/stigg.server";

export const stiggSync: Task = async (payload) => {
  const { orgId } = payload as { orgId: string };
  const [org] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
  const [sub] = await db.select().from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId));
  if (!org || !sub) return;
  await provisionInStigg({
    orgId,
    name: org.name,
    email: org.ownerEmail,
    stripeCustomerId: org.stripeCustomerId,
    planCode: sub.planCode,
    stripeSubscriptionId: sub.stripeSubscriptionId,
    trialing: sub.status === "trialing",
  });
};
