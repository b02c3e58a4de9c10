// API keys of the session's org: list (GET), create (POST { name, rateLimits?, expiresAt? }) — the key is shown once.
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION } from "~/server/api/contract.server";
import { apiKeyList, createdApiKey, createKeyBody } from "~/server/api/schemas.server";
import { createApiKey, listApiKeys, MAX_ACTIVE_API_KEYS } from "~/server/auth/keys.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  GET: {
    auth: "session",
    role: "admin",
    data: answer(apiKeyList, "ApiKeyList"),
    doc: {
      operationId: "listApiKeys",
      tag: "API keys",
      summary: "List the API keys",
      description:
        "The org's keys, newest first: name, prefix, created, last used, revoked, their own rate limits, expiry and, after a roll, until when the old secret works. Never the key itself. For org admins (a member is `FORBIDDEN`).",
      errors: [...SESSION, ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, { keys: await listApiKeys(orgId) }),
  },
  POST: {
    auth: "session",
    role: "admin",
    body: jsonBody(createKeyBody, "CreateKeyBody", { name: "production server", rateLimits: [{ limit: 100, windowSeconds: 1 }] }),
    data: answer(createdApiKey, "CreatedApiKey"),
    doc: {
      operationId: "createApiKey",
      tag: "API keys",
      summary: "Create an API key",
      description: `Answers the plaintext key once (\`mk_live_\` or \`mk_test_\` prefix); only its hash is stored. Optional \`rateLimits\` (see \`RATE_LIMITED\`; omitted or \`null\`: the org's default applies, \`[]\`: none) and \`expiresAt\` (from then on the key is refused as a revoked one is). An org holds at most ${MAX_ACTIVE_API_KEYS} active (unrevoked) keys: one more is \`VALIDATION_FAILED\` with \`details.limit\`; revoke a key to make room.`,
      errors: [...JSON_BODY, ...SESSION, ...ALWAYS],
    },
    handle: async ({ body }, ctx, { orgId }) => ok(ctx, await createApiKey({ orgId, ...body })),
  },
});
export const { loader, action } = route;
