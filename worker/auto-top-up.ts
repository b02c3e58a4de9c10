// Charges an auto top-up run: the org's saved card buys the packs it set, once per crossing.
import { runAutoTopUp } from "../app/server/billing/auto-top-up.server";
import { log } from "../app/server/platform/log.server";
import { defineTask } from "./define-task";

export const autoTopUp = defineTask("auto_top_up", async ({ runId }) => {
  const outcome = await runAutoTopUp(runId);
  if (outcome === "failed") log.warn({ runId }, "auto top-up: the charge failed; the setting is off and the org is told");
});
