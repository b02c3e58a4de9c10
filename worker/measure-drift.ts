// Every 5 minutes: recorded vs Stripe's meter totals per period, for the drift SLO and gauge.
import { measureDrift } from "../app/server/billing/meter-report.server";
import { defineTask } from "./define-task";

export const measureDriftTask = defineTask("measure_drift", async () => {
  await measureDrift();
});
