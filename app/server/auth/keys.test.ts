// Creating an API key for an organisation that does not exist: a plain NOT_FOUND, with no SQL and
// no key material in what the caller (the ops CLI, the logs) is given.
import { expect, test } from "bun:test";
import { orgWithKey } from "../../../test/factories";
import { sql } from "../platform/db.server";
import { createApiKey } from "./keys.server";

test("a key for a missing org is NOT_FOUND and its message names no statement or key", async () => {
  const err = (await createApiKey({ orgId: "org_nope", name: "ops" }).catch((e) => e)) as Error & { code?: string };
  expect(err.code).toBe("NOT_FOUND");
  expect(err.message).toBe("Organisation not found.");
  expect(JSON.stringify({ ...err, message: err.message, stack: undefined })).not.toMatch(/insert|mk_|[0-9a-f]{64}/);
  expect((await sql`select count(*)::int as n from api_keys where org_id = 'org_nope'`)[0].n).toBe(0);
});

test("a key for an existing org is still created", async () => {
  const { orgId } = await orgWithKey();
  const created = await createApiKey({ orgId, name: "second" });
  expect(created.key).toMatch(/^mk_test_/);
  expect(created.prefix).toBe(created.key.slice(0, 12));
});
