// The /v1 REST endpoints this system uses, with Stripe's shapes: lists, expand, errors. Each
// resource's routes live in its own file; this one dispatches to them.
import type { Account } from "./account";
import { StripeError } from "./account";
import { customerRoutes } from "./customers";
import { arr } from "./form";
import { meterRoutes } from "./meters";
import { oneOffInvoiceRoutes } from "./one-off-invoices";
import { checkParams } from "./params";
import { portalRoutes } from "./portal-configurations";
import { productRoutes } from "./products";
import type { Params, Route } from "./route";
import { scheduleRoutes } from "./schedules";
import { sessionRoutes } from "./sessions";
import { eventRoutes, invoiceRoutes, subscriptionRoutes } from "./subscription-routes";
import { testClockRoutes } from "./test-clocks";
import { webhookEndpointRoutes } from "./webhook-endpoints";

/** Every /v1 route, in the order they are tried. */
export const routes: Route[] = [
  ...productRoutes,
  ...customerRoutes,
  ...testClockRoutes,
  ...subscriptionRoutes,
  ...scheduleRoutes,
  ...invoiceRoutes,
  ...oneOffInvoiceRoutes,
  ...eventRoutes,
  ...sessionRoutes,
  ...portalRoutes,
  ...meterRoutes,
  ...webhookEndpointRoutes,
];

/** Replaces ids named by `expand[]` with their objects (one level, dotted paths allowed). */
async function expand(b: Account, value: any, paths: string[]): Promise<any> {
  for (const path of paths) {
    const parts = path.split(".");
    const walk = async (node: any, i: number): Promise<void> => {
      if (!node || typeof node !== "object") return;
      if (parts[i] === "data" && Array.isArray(node.data)) {
        for (const item of node.data) await walk(item, i + 1);
        return;
      }
      const key = parts[i];
      if (i === parts.length - 1) {
        if (typeof node[key] === "string") node[key] = (await b.store.get(node[key])) ?? node[key];
      } else {
        await walk(node[key], i + 1);
      }
    };
    await walk(value, 0);
  }
  return value;
}

export async function handleApi(b: Account, method: string, path: string, params: Params): Promise<unknown> {
  for (const [m, re, accepts, handler] of routes) {
    if (m !== method) continue;
    const match = re.exec(path);
    if (!match) continue;
    checkParams(accepts, params);
    const result = await handler(b, params, match.slice(1).map(decodeURIComponent));
    return expand(b, structuredClone(result), arr(params.expand).map(String));
  }
  throw new StripeError(404, "invalid_request_error", `Unrecognized request URL (${method}: ${path}).`);
}
