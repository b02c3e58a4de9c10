// Hourly: subscription.trial_will_end for trials ending within three days (app/server/notify/trials.server.ts).
import type { Task } from "graphile-worker";
import { notifyEndingTrials } from "../app/server/notify/trials.server";

export const notifyTrials: Task = async () => {
  await notifyEndingTrials();
};
