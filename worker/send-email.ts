// Sends one outbox email (app/server/notify/email.server.ts); a failing SMTP server is retried.
import type { Task } from "graphile-worker";
import { sendEmail as send } from "../app/server/notify/email.server";

export const sendEmail: Task<"send_email"> = async (payload) => {
  await send(payload.emailId);
};
