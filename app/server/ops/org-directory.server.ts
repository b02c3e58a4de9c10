// /admin's organisations: a server-side search (name, id, owner email) with status and plan
// filters, one page at a time, and one org's detail. Every read is a fixed number of statements
// whatever the number of orgs (app/server/ops/org-directory.test.ts counts them with 1,000 orgs).
import { z } from "zod";
import { listAudit } from "../events/audit.server";
import { sql } from "../platform/db.server";
import { NotFound } from "../platform/errors.server";

export const ORG_PAGE_SIZE = 25;

/** Stripe's subscription statuses, and `none` for an org that never subscribed. */
export const ORG_STATUSES = ["trialing", "active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired", "paused", "none"] as const;

const blankToUndefined = (v: unknown) => (v === "" || v === null ? undefined : v);

export const orgFilter = z.object({
  // Postgres text cannot hold NUL: refused like a form's NUL, never sent to the search.
  q: z
    .string()
    .trim()
    .max(200, "Search for at most 200 characters.")
    .refine((q) => !q.includes("\0"), "Search text must not contain NUL characters.")
    .default(""),
  status: z.preprocess(blankToUndefined, z.enum(ORG_STATUSES, { error: "Unknown subscription status." }).optional()),
  plan: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,39}$/, "Unknown plan code.")
      .optional(),
  ),
  page: z.preprocess(blankToUndefined, z.coerce.number().int("Page is a whole number.").min(1, "Pages start at 1.").max(100_000).default(1)),
});
export type OrgFilter = z.infer<typeof orgFilter>;

/** The filter of a /admin URL, or the first problem with it (the page says it, and lists nothing). */
export function orgFilterOf(params: URLSearchParams): { filter: OrgFilter; error: null } | { filter: OrgFilter; error: string } {
  const parsed = orgFilter.safeParse({
    q: params.get("q") ?? undefined,
    status: params.get("status"),
    plan: params.get("plan"),
    page: params.get("page"),
  });
  if (parsed.success) return { filter: parsed.data, error: null };
  return { filter: { q: "", page: 1 }, error: parsed.error.issues[0]?.message ?? "Invalid filter." };
}

// A search term is matched literally: LIKE's wildcards in it are escaped.
const containing = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export type OrgListRow = {
  id: string;
  name: string;
  owner_email: string | null;
  plan_code: string | null;
  status: string | null;
  used: number | null;
  included: number | null;
  /** unexpired prepaid credits (every metric) */
  credits_left: number;
  /** the overage charge so far this period (every metric, overage_charge_cents: the invoice's rounding) */
  overage_cents: number;
  currency: string;
};

export type OrgPage = { rows: OrgListRow[]; total: number; page: number; pages: number };
/** What a search that could not run lists. */
export const NO_ORGS: OrgPage = { rows: [], total: 0, page: 1, pages: 1 };

/** One page of the orgs matching the filter, newest first, with how many match in all. One statement. */
export async function searchOrgs(filter: OrgFilter): Promise<OrgPage> {
  const like = filter.q ? containing(filter.q) : null;
  const offset = (filter.page - 1) * ORG_PAGE_SIZE;
  const rows = await sql<(OrgListRow & { total: number })[]>`
    with matching as (
      select o.id, o.name, o.owner_email, o.created_at, s.plan_code, s.status, s.period_start
        from organisations o
        left join subscriptions s on s.org_id = o.id
       where (${like}::text is null or o.name ilike ${like} or o.id ilike ${like} or o.owner_email ilike ${like})
         and (${filter.status ?? null}::text is null or coalesce(s.status, 'none') = ${filter.status ?? null})
         and (${filter.plan ?? null}::text is null or s.plan_code = ${filter.plan ?? null})
    ), page as (
      select * from matching order by created_at desc, id limit ${ORG_PAGE_SIZE} offset ${offset}
    )
    select p.id, p.name, p.owner_email, p.plan_code, p.status, c.used, c.included,
           (select coalesce(sum(g.remaining), 0) from credit_grants g
             where g.org_id = p.id and g.remaining > 0 and g.expires_at > now())::float8 as credits_left,
           (select coalesce(sum(overage_charge_cents(oc.overage_used, oc.overage_price_cents, oc.overage_per)), 0)
              from usage_counters oc
             where oc.org_id = p.id and oc.overage_used > 0 and oc.overage_price_cents is not null
               and oc.period_start <= now() and oc.period_end > now())::float8 as overage_cents,
           coalesce((select pl.currency from plans pl where pl.code = p.plan_code), 'usd') as currency,
           (select count(*) from matching)::int as total
      from page p
      -- the counter of the period usage is counted in now (a yearly subscription's next month has one made ahead)
      left join lateral (select used, included from usage_counters c where c.org_id = p.id and c.metric = 'api_call'
                           and c.period_start <= greatest(now(), p.period_start) order by period_start desc limit 1) c on true
     order by p.created_at desc, p.id`;
  // Past the last page, the count still comes: one more statement only then.
  const total = rows[0]?.total ?? (filter.page > 1 ? await countMatching(filter) : 0);
  return {
    rows: rows.map(({ total: _, ...row }) => row),
    total,
    page: filter.page,
    pages: Math.max(1, Math.ceil(total / ORG_PAGE_SIZE)),
  };
}

async function countMatching(filter: OrgFilter): Promise<number> {
  const { total } = await searchOrgs({ ...filter, page: 1 });
  return total;
}

/** The plan codes subscriptions are on, for the plan filter. */
export async function planCodesInUse(): Promise<string[]> {
  const rows = await sql<{ code: string }[]>`select code from plans union select distinct plan_code from subscriptions order by 1`;
  return rows.map((r) => r.code);
}

/** Everything /admin/orgs/:id shows of one org; NOT_FOUND for an id that names none. */
export async function orgDetail(orgId: string) {
  const [org] = await sql<
    {
      id: string;
      name: string;
      owner_email: string | null;
      time_zone: string;
      stripe_customer_id: string | null;
      created_at: string;
      plan_code: string | null;
      plan_version: number | null;
      billing_interval: string | null;
      status: string | null;
      period_start: string | null;
      period_end: string | null;
      trial_end: string | null;
      cancel_at_period_end: boolean | null;
      pending_plan_code: string | null;
      keys: number;
    }[]
  >`
    select o.id, o.name, o.owner_email, o.time_zone, o.stripe_customer_id, o.created_at::text,
           s.plan_code, s.plan_version, s.billing_interval, s.status, s.period_start::text, s.period_end::text,
           s.trial_end::text, s.cancel_at_period_end, s.pending_plan_code,
           (select count(*) from api_keys k where k.org_id = o.id and k.revoked_at is null)::int as keys
      from organisations o left join subscriptions s on s.org_id = o.id
     where o.id = ${orgId}`;
  if (!org) throw NotFound("Organisation");
  const [usage, credits, invoices, jobs, events, audit] = await Promise.all([
    // Each metered feature's counter of the period usage is counted in now.
    sql<{ metric: string; period_key: string; included: number; used: number; credit_used: number; overage_used: number }[]>`
      select distinct on (metric) metric, period_key, included, used, credit_used, overage_used
        from usage_counters
       where org_id = ${orgId} and period_start <= greatest(now(), ${org.period_start}::timestamptz)
       order by metric, period_start desc`,
    sql<{ id: string; metric: string; units: number; remaining: number; source: string; granted_at: string; expires_at: string }[]>`
      select id, metric, units, remaining, source, granted_at::text, expires_at::text
        from credit_grants where org_id = ${orgId} order by granted_at desc limit 20`,
    sql<{ id: string; number: string | null; status: string; currency: string; total: number; amount_due: number; created_at: string }[]>`
      select id, number, status, currency, total, amount_due, stripe_created_at::text as created_at
        from invoices where org_id = ${orgId} order by stripe_created_at desc limit 10`,
    // Jobs still in the queue for this org: its Stripe events' queue and its Stigg sync (keyed by org).
    sql<{ id: string; task: string; attempts: number; max_attempts: number; run_at: string; last_error: string | null }[]>`
      select id::text, task_identifier as task, attempts, max_attempts, run_at::text, last_error
        from graphile_worker.jobs
       where queue_name = ${org.stripe_customer_id ? `stripe:${org.stripe_customer_id}` : null}::text or key = ${`stigg:${orgId}`}
       order by run_at desc limit 20`,
    sql<{ id: string; type: string; created_at: string }[]>`
      select id, type, created_at::text from events where org_id = ${orgId} order by created_at desc limit 20`,
    listAudit({ orgId, limit: 20 }),
  ]);
  return {
    org,
    usage,
    credits,
    invoices,
    jobs: jobs.map((j) => ({ ...j, last_error: j.last_error?.split("\n")[0] ?? null })),
    events,
    audit,
  };
}
