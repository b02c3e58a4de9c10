// The dev sign-in's org ownership: the first sign-in to an org without an owner claims it, in
// one statement, so of concurrent first sign-ins exactly one wins; everyone else gets a 403 page.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createOrg } from "../../app/server/orgs/orgs.server";
import { sql } from "../../app/server/platform/db.server";
import { startApp, type TestApp } from "../app";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
});

const newOrg = () => `org_cl${crypto.randomUUID().slice(0, 8)}`;

const signIn = (email: string, orgId: string) =>
  fetch(`${app.url}/dev/sign-in`, { method: "POST", redirect: "manual", headers: { origin: app.url }, body: new URLSearchParams({ email, orgId }) });

const ownerOf = async (orgId: string) =>
  (await sql<{ owner_email: string | null }[]>`select owner_email from organisations where id = ${orgId}`)[0].owner_email;

/** Signs `n` people in to `orgId` at once; answers who got in. */
async function concurrentSignIns(orgId: string, n: number) {
  const emails = Array.from({ length: n }, (_, i) => `racer${i}@example.com`);
  const answers = await Promise.all(emails.map((e) => signIn(e, orgId)));
  for (const r of answers) expect([302, 403]).toContain(r.status);
  return emails.filter((_, i) => answers[i].status === 302);
}

test("an org without an owner is claimed by the first sign-in; anyone else gets a clear 403 page", async () => {
  const orgId = newOrg();
  await createOrg({ id: orgId, name: "Unowned" });
  expect(await ownerOf(orgId)).toBeNull();

  expect((await signIn("first@example.com", orgId)).status).toBe(302);
  expect(await ownerOf(orgId)).toBe("first@example.com");

  const refused = await signIn("second@example.com", orgId);
  expect(refused.status).toBe(403);
  expect(refused.headers.get("set-cookie")).toBeNull();
  expect(refused.headers.get("content-type")).toContain("text/html");
  expect(await refused.text()).toContain(`The organisation ${orgId} belongs to another owner.`);
  expect(await ownerOf(orgId)).toBe("first@example.com");

  expect((await signIn("first@example.com", orgId)).status).toBe(302);
});

test("of concurrent first sign-ins to an org without an owner, exactly one wins", async () => {
  const orgId = newOrg();
  await createOrg({ id: orgId, name: "Unowned" });
  const winners = await concurrentSignIns(orgId, 8);
  expect(winners.length).toBe(1);
  expect(await ownerOf(orgId)).toBe(winners[0]);
});

test("of concurrent first sign-ins creating a new org, exactly one wins", async () => {
  const orgId = newOrg();
  const winners = await concurrentSignIns(orgId, 8);
  expect(winners.length).toBe(1);
  expect(await ownerOf(orgId)).toBe(winners[0]);
});

test("an owner email stored with capitals still signs in as the owner", async () => {
  const orgId = newOrg();
  await createOrg({ id: orgId, email: "Boss@Example.com" });
  expect((await signIn("boss@example.com", orgId)).status).toBe(302);
  expect((await signIn("other@example.com", orgId)).status).toBe(403);
});
