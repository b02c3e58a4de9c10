// Hourly: rows past their retention period are deleted, in small batches (app/server/ops/retention.server.ts).
import { runRetention } from "../app/server/ops/retention.server";
import { defineTask } from "./define-task";

export const retention = defineTask("retention", async () => {
  await runRetention({ apply: true });
});
