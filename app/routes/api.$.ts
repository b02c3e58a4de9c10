// Any /api path no route serves: 404 in the envelope (not the portal's HTML page), every method.
import { NotFound } from "~/server/platform/errors.server";
import { apiRoute } from "~/server/platform/http.server";

const notFound = apiRoute(async () => {
  throw NotFound("API route");
});

export const loader = notFound;
export const action = notFound;
