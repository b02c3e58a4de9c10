// Invoices mirrored from Stripe, newest first, with links to the hosted page and the PDF.
import { Anchor, Badge, Button, Card, Group, Stack, Text, Title } from "@mantine/core";
import { json, type LoaderFunctionArgs, type SerializeFrom } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { formatDate, formatMoney } from "~/components/format";
import { type Column, ResponsiveTable } from "~/components/responsive-table";
import { requireUser } from "~/server/auth/session.server";
import { listInvoices } from "~/server/billing/overview.server";
import { getOrg } from "~/server/orgs/orgs.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request);
  const org = await getOrg(user.orgId);
  return json({ invoices: await listInvoices(user.orgId), timeZone: org.timeZone });
};

const statusColor: Record<string, string> = { paid: "teal", open: "yellow", uncollectible: "red", void: "gray", draft: "gray" };

type InvoiceRow = SerializeFrom<typeof loader>["invoices"][number];

export default function Invoices() {
  const { invoices, timeZone } = useLoaderData<typeof loader>();
  const columns: Column<InvoiceRow>[] = [
    { header: "Number", cell: (i) => i.number ?? i.id },
    { header: "Date", cell: (i) => formatDate(i.created, timeZone) },
    { header: "Period", cell: (i) => (i.periodStart && i.periodEnd ? `${formatDate(i.periodStart, timeZone)} – ${formatDate(i.periodEnd, timeZone)}` : "—") },
    { header: "Amount", align: "right", cell: (i) => formatMoney(i.total, i.currency) },
    { header: "Status", cell: (i) => <Badge color={statusColor[i.status] ?? "gray"}>{i.status}</Badge> },
    {
      header: "Links",
      cell: (i) => (
        <Group gap="sm">
          {i.status === "open" && i.hostedInvoiceUrl && i.amountDue > i.amountPaid ? (
            // Stripe's hosted invoice page takes the payment.
            <Button
              component="a"
              href={i.hostedInvoiceUrl}
              size="xs"
              color="red"
              aria-label={`Pay ${formatMoney(i.amountDue - i.amountPaid, i.currency)} for invoice ${i.number ?? i.id} (opens Stripe)`}
            >
              Pay {formatMoney(i.amountDue - i.amountPaid, i.currency)}
            </Button>
          ) : null}
          {i.hostedInvoiceUrl ? (
            <Anchor href={i.hostedInvoiceUrl} target="_blank" rel="noreferrer" aria-label={`View invoice ${i.number ?? i.id} (opens in a new tab)`}>
              View
            </Anchor>
          ) : null}
          {i.invoicePdf ? (
            <Anchor href={i.invoicePdf} target="_blank" rel="noreferrer" aria-label={`PDF of invoice ${i.number ?? i.id} (opens in a new tab)`}>
              PDF
            </Anchor>
          ) : null}
        </Group>
      ),
    },
  ];
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">
        Invoices
      </Title>
      <Card withBorder padding={0}>
        {invoices.length === 0 ? (
          <Text c="dimmed" p="lg">
            No invoices yet. They appear here when Stripe bills your plan.
          </Text>
        ) : (
          <ResponsiveTable caption="Invoices" columns={columns} rows={invoices} rowKey={(i) => i.id} />
        )}
      </Card>
    </Stack>
  );
}
