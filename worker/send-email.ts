// Sends one outbox email (app/server/notify/email.server.ts); a failing SMTP server is retried.
import { sendEmail as send } from "../app/server/notify/email.server";
import { defineTask } from "./define-task";

export const sendEmail = defineTask("send_email", async ({ emailId }) => {
  await send(emailId);
});
