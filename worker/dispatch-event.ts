// Fans an event out to its webhook deliveries and its email (app/server/notify/dispatch.server.ts).
import { dispatchEvent as dispatch } from "../app/server/notify/dispatch.server";
import { defineTask } from "./define-task";

export const dispatchEvent = defineTask("dispatch_event", async ({ eventId }) => {
  await dispatch(eventId);
});
