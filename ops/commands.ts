// The ops commands: each parses its arguments, calls one server function, and says how to
// print the result for people. The JSON shape is the contract of api.md.
import { AppError } from "../app/server/errors.server";
import { createOrg, setSubscriptionMirror } from "../app/server/orgs.server";
import { createApiKey, revokeApiKey } from "../app/server/keys.server";
import { quotaFor } from "../app/server/usage.server";
import { syncPlanCatalog, planByCode, type PlanCode } from "../app/server/plans.server";
import { sql } from "../app/server/db.server";
import { closeCache } from "../app/server/cache.server";

type Flags = { name?: string; email?: string };
type Command<R> = { args: string; run: (args: string[], flags: Flags) => Promise<R>; human: (r: R) => string };

const need = (args: string[], n: number, usageLine: string) => {
  if (args.length < n) throw new AppError("VALIDATION_FAILED", `usage: bun run ops ${usageLine}`);
};
const fmt = (n: number) => n.toLocaleString("en-US");

const orgCreate: Command<Awaited<ReturnType<typeof createOrg>>> = {
  args: "org:create <orgId> [--name N] [--email E]",
  run: async ([orgId], f) => {
    need([orgId].filter(Boolean), 1, orgCreate.args);
    return createOrg({ id: orgId, name: f.name, email: f.email });
  },
  human: (o) => `created ${o.id} (${o.name})`,
};

const subscribe: Command<Awaited<ReturnType<typeof setSubscriptionMirror>>> = {
  args: "subscribe <orgId> <planCode>",
  run: async ([orgId, planCode]) => {
    need([orgId, planCode].filter(Boolean), 2, subscribe.args);
    if (!planByCode(planCode)) throw new AppError("VALIDATION_FAILED", `Unknown plan "${planCode}"; one of trial, starter, growth, pro.`);
    await syncPlanCatalog();
    return setSubscriptionMirror({ orgId, planCode: planCode as PlanCode });
  },
  human: (s) => `${s!.orgId}: ${s!.planCode} (${s!.status}) ${s!.periodStart} → ${s!.periodEnd}`,
};

const keyCreate: Command<Awaited<ReturnType<typeof createApiKey>>> = {
  args: "key:create <orgId> [--name N]",
  run: async ([orgId], f) => {
    need([orgId].filter(Boolean), 1, keyCreate.args);
    return createApiKey({ orgId, name: f.name ?? "ops" });
  },
  human: (k) => `key ${k.id} created; it is shown only now:\n${k.key}`,
};

const keyRevoke: Command<Awaited<ReturnType<typeof revokeApiKey>>> = {
  args: "key:revoke <keyId>",
  run: async ([keyId]) => {
    need([keyId].filter(Boolean), 1, keyRevoke.args);
    return revokeApiKey({ keyId });
  },
  human: (k) => `revoked ${k.id} at ${k.revokedAt}`,
};

const usageCmd: Command<Awaited<ReturnType<typeof quotaFor>>> = {
  args: "usage <orgId>",
  run: async ([orgId]) => {
    need([orgId].filter(Boolean), 1, usageCmd.args);
    return quotaFor(orgId, "api_call");
  },
  human: (q) => `${q.planCode} (${q.status}) period ${q.periodKey}: ${fmt(q.used)} of ${fmt(q.included)} used, ${fmt(q.remaining)} left, ends ${q.periodEnd}`,
};

export const commands: Record<string, Command<unknown>> = {
  "org:create": orgCreate,
  subscribe,
  "key:create": keyCreate,
  "key:revoke": keyRevoke,
  usage: usageCmd,
} as Record<string, Command<unknown>>;

export const usage = `usage: bun run ops <command> [--json]\n\n${Object.values(commands)
  .map((c) => `  ${c.args}`)
  .join("\n")}`;

export async function closeAll() {
  await closeCache();
  await sql.end({ timeout: 2 });
}
