// Hourly: subscription.trial_will_end for trials ending within three days (app/server/notify/trials.server.ts).
import { notifyEndingTrials } from "../app/server/notify/trials.server";
import { defineTask } from "./define-task";

export const notifyTrials = defineTask("notify_trials", async () => {
  await notifyEndingTrials();
});
