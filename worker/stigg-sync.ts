// Provisions an org's customer and current plan in Stigg, after the database converged to Stripe.
import { syncOrgToStigg } from "../app/server/stigg/stigg.server";
import { defineTask } from "./define-task";

export const stiggSync = defineTask("stigg_sync", async ({ orgId }) => {
  await syncOrgToStigg(orgId);
});
