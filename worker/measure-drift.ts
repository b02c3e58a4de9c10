// Every 5 minutes: recorded vs Stripe's meter totals per period, for the drift SLO and gauge.
import type { Task } from "graphile-worker";
import { measureDrift } from "../app/server/observe/slo.server";

export const measureDriftTask: Task = async () => {
  await measureDrift();
};
