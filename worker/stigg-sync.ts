// Stripe → DB → Stigg: an org's customer and subscription mirrored to Stigg after the database
// converged to Stripe (then rechecked for drift), and the current catalog published to Stigg.
import { publishCatalogToStigg, syncOrgToStigg } from "../app/server/billing/stigg-mirror.server";
import { stiggEnabled } from "../app/server/stigg/stigg.server";
import { defineTask } from "./define-task";

export const stiggSync = defineTask("stigg_sync", async ({ orgId }) => {
  await syncOrgToStigg(orgId);
});

export const stiggPublish = defineTask("stigg_publish", async () => {
  if (stiggEnabled()) await publishCatalogToStigg();
});
