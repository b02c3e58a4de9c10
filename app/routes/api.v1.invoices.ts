import { ALWAYS, answer } from "~/server/api/contract.server";
import { invoiceList } from "~/server/api/schemas.server";
import { listInvoices } from "~/server/billing/overview.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  GET: {
    auth: "session",
    data: answer(invoiceList, "InvoiceList"),
    doc: {
      operationId: "listInvoices",
      tag: "Billing",
      summary: "List the invoices",
      description: "The org's invoices as mirrored from Stripe (newest first, at most 100), with the hosted page and PDF links.",
      errors: ["UNAUTHENTICATED", ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, { invoices: await listInvoices(orgId) }),
  },
});
export const { loader, action } = route;
