// Any /api path no route serves: 404 in the envelope (not the portal's HTML page), every method.

import { apiRoute } from "~/server/http/route.server";
import { NotFound } from "~/server/platform/errors.server";

export const route = apiRoute({
  "*": {
    auth: "none",
    handle: async () => {
      throw NotFound("API route");
    },
  },
});
export const { loader, action } = route;
