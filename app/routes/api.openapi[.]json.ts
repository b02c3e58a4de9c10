// The OpenAPI 3.1 document of the API, made from the schemas the routes validate with. Not in an
// envelope: tools (code generators, validators, API browsers) read it as it is.
import { openApiDocument } from "~/server/api/openapi.server";
import { apiRoute, json } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const loader = apiRoute(async (_request, ctx) => json(ctx, 200, openApiDocument(), { "Cache-Control": "public, max-age=300" }));

export const action = methodNotAllowed("GET");
