// Every minute: SLOs breached for 5 minutes raise one error line and one Sentry event per breach.
import type { Task } from "graphile-worker";
import { watchSlos } from "../app/server/observe/slo.server";

export const sloWatch: Task = async () => {
  await watchSlos();
};
