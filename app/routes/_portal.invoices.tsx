// Invoices mirrored from Stripe, newest first, with links to the hosted page and the PDF.
import { Anchor, Badge, Card, Group, Stack, Table, Text, Title } from "@mantine/core";
import { json, type LoaderFunctionArgs } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { formatDate, formatMoney } from "~/components/format";
import { requireUser } from "~/server/auth.server";
import { listInvoices } from "~/server/billing/billing.server";
import { getOrg } from "~/server/orgs.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request);
  const org = await getOrg(user.orgId);
  return json({ invoices: await listInvoices(user.orgId), timeZone: org.timeZone });
};

const statusColor: Record<string, string> = { paid: "teal", open: "yellow", uncollectible: "red", void: "gray", draft: "gray" };

export default function Invoices() {
  const { invoices, timeZone } = useLoaderData<typeof loader>();
  return (
    <Stack gap="lg">
      <Title order={2}>Invoices</Title>
      <Card withBorder padding={0}>
        {invoices.length === 0 ? (
          <Text c="dimmed" p="lg">
            No invoices yet. They appear here when Stripe bills your plan.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table verticalSpacing="sm" horizontalSpacing="md">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Number</Table.Th>
                  <Table.Th>Date</Table.Th>
                  <Table.Th>Period</Table.Th>
                  <Table.Th>Amount</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Links</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {invoices.map((i) => (
                  <Table.Tr key={i.id}>
                    <Table.Td>{i.number ?? i.id}</Table.Td>
                    <Table.Td>{formatDate(i.created, timeZone)}</Table.Td>
                    <Table.Td>{i.periodStart && i.periodEnd ? `${formatDate(i.periodStart, timeZone)} – ${formatDate(i.periodEnd, timeZone)}` : "—"}</Table.Td>
                    <Table.Td>{formatMoney(i.total, i.currency)}</Table.Td>
                    <Table.Td>
                      <Badge color={statusColor[i.status] ?? "gray"}>{i.status}</Badge>
                    </Table.Td>
                    <Table.Td>
                      <Group gap="sm">
                        {i.hostedInvoiceUrl ? (
                          <Anchor href={i.hostedInvoiceUrl} target="_blank" rel="noreferrer">
                            View
                          </Anchor>
                        ) : null}
                        {i.invoicePdf ? (
                          <Anchor href={i.invoicePdf} target="_blank" rel="noreferrer">
                            PDF
                          </Anchor>
                        ) : null}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
    </Stack>
  );
}
