// Every minute: SLOs breached for 5 minutes raise one error line and one Sentry event per breach.
import { watchSlos } from "../app/server/observe/slo.server";
import { defineTask } from "./define-task";

export const sloWatch = defineTask("slo_watch", async () => {
  await watchSlos();
});
