// Small shared pieces of API routing.
import { AppError } from "./errors.server";
import { apiRoute } from "./http.server";

/** A loader/action for the methods a resource route does not serve: 405 in the envelope. */
export const methodNotAllowed = (allowed: string) =>
  apiRoute(
    async () => {
      throw new AppError("METHOD_NOT_ALLOWED", `Use ${allowed} on this route.`, {}, { Allow: allowed });
    },
    { needsDatabase: false },
  );
