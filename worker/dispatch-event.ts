// Fans an event out to its webhook deliveries and its email (app/server/notify/dispatch.server.ts).
import type { Task } from "graphile-worker";
import { dispatchEvent as dispatch } from "../app/server/notify/dispatch.server";

export const dispatchEvent: Task<"dispatch_event"> = async (payload) => {
  await dispatch(payload.eventId);
};

declare global {
  namespace GraphileWorker {
    interface Tasks {
      dispatch_event: { eventId: string };
      deliver_webhook: { deliveryId: string };
      send_email: { emailId: string };
    }
  }
}
