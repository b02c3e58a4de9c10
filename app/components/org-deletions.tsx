// /admin: organisations deleted in Clerk. Their API keys are already revoked; their Stripe
// subscription and data wait for an operator (nothing is canceled silently).
import { Badge, Card, Table, Text } from "@mantine/core";
import type { pendingOrgDeletions } from "~/server/auth/clerk-webhooks.server";

type Row = Awaited<ReturnType<typeof pendingOrgDeletions>>[number];

export function OrgDeletions({ rows }: { rows: Row[] }) {
  if (rows.length === 0) return null;
  return (
    <Card withBorder padding={0} data-testid="org-deletions">
      <Text fw={600} p="md">
        Organisations deleted in Clerk (keys revoked; subscription to handle)
      </Text>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Organisation</Table.Th>
            <Table.Th>Deleted</Table.Th>
            <Table.Th>Keys revoked</Table.Th>
            <Table.Th>Subscription</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((r) => (
            <Table.Tr key={r.org_id}>
              <Table.Td>{r.org_id}</Table.Td>
              <Table.Td>{r.deleted_at}</Table.Td>
              <Table.Td>{r.keys_revoked}</Table.Td>
              <Table.Td>{r.plan_code ? <Badge color="orange">{`${r.plan_code} (${r.status})`}</Badge> : "none"}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}
