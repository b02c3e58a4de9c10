// The OpenAPI 3.1 document of the API, made from the schemas the routes validate with. Not in an
// envelope: tools (code generators, validators, API browsers) read it as it is.
import { openApiDocument } from "~/server/api/openapi.server";
import { json } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  GET: {
    auth: "none",
    // Made from code alone: it answers while the database is unreachable too.
    needsDatabase: false,
    data: null,
    doc: {
      operationId: "getOpenApi",
      tag: "Contract",
      summary: "This contract",
      description: "The OpenAPI 3.1 document of the API, made from the schemas the routes validate with. Not enveloped: tools read it as it is.",
      errors: [],
    },
    handle: async (_args, ctx) => json(ctx, 200, openApiDocument(), { "Cache-Control": "public, max-age=300" }),
  },
});
export const { loader, action } = route;
