// One attempt of one outbound webhook delivery (app/server/notify/deliver.server.ts).
import type { Task } from "graphile-worker";
import { deliverWebhook as deliver } from "../app/server/notify/deliver.server";

export const deliverWebhook: Task<"deliver_webhook"> = async (payload) => {
  await deliver(payload.deliveryId);
};
