// ops stigg:check: every org with a subscription compared with what Stigg holds (its plan
// version and each feature's grant); the drift listed and recorded for /admin, each drifted org
// queued for a re-mirror by the stigg_sync job. Exits 1 while there is any drift.
import { checkStigg, type StiggCheck } from "../app/server/billing/stigg-mirror.server";
import { AppError } from "../app/server/platform/errors.server";
import { stiggEnabled } from "../app/server/stigg/stigg.server";
import { COMMAND_ARGS } from "./help";

export const stiggCheck = {
  args: COMMAND_ARGS["stigg:check"],
  run: async (): Promise<StiggCheck> => {
    if (!stiggEnabled())
      throw new AppError("VALIDATION_FAILED", "Stigg is off: set STIGG_API_KEY, or STIGG_API_URL for the local Stigg (`npm start` runs one).");
    return checkStigg();
  },
  human: (r: StiggCheck) =>
    r.drifted.length === 0
      ? `Stigg agrees with the database for all ${r.checked} org(s) with a subscription.`
      : [
          `${r.drifted.length} of ${r.checked} org(s) drifted from the database (each queued for a re-mirror):`,
          ...r.drifted.flatMap((d) => [`  ${d.orgId}`, ...d.problems.map((p) => `    ${p}`)]),
        ].join("\n"),
  json: (r: StiggCheck) => ({ ok: r.drifted.length === 0, ...r }),
  exitCode: (r: StiggCheck) => (r.drifted.length === 0 ? 0 : 1),
};
