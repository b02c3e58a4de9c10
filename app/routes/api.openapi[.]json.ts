// The OpenAPI 3.1 document of the API, made from the schemas the routes validate with. Not in an
// envelope: tools (code generators, validators, API browsers) read it as it is.
import { json } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

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
    // Loaded on first use: the document lists this route too, so a static import would be a cycle.
    handle: async (_args, ctx) => {
      const { openApiDocument } = await import("~/server/openapi/document.server");
      return json(ctx, 200, openApiDocument(), { "Cache-Control": "public, max-age=300" });
    },
  },
});
export const { loader, action } = route;
