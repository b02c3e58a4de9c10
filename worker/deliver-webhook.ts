// One attempt of one outbound webhook delivery (app/server/notify/deliver.server.ts).
import { deliverWebhook as deliver } from "../app/server/notify/deliver.server";
import { defineTask } from "./define-task";

export const deliverWebhook = defineTask("deliver_webhook", async ({ deliveryId, manual }, helpers) => {
  await deliver(deliveryId, { inLane: helpers.job.job_queue_id !== null, manual: manual === true });
});
