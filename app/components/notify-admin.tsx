// The /admin panels of notifications: the email outbox (with the emails kept locally when no
// SMTP server is configured) and the audit log of every org.
import { Badge, Card, Table, Text, Title } from "@mantine/core";

type Outbox = { id: string; orgId: string; to: string; subject: string; status: string; attempts: number; lastError: string | null; createdAt: string }[];
type Audit = { id: number; orgId: string | null; actor: string; action: string; target: string | null; requestId: string | null; at: string }[];

export function NotifyAdminPanels({ outbox, audit }: { outbox: Outbox; audit: Audit }) {
  return (
    <>
      <Card withBorder padding={0}>
        <Title order={3} size="h4" p="md">
          Email outbox
        </Title>
        <Text size="sm" c="dimmed" px="md">
          Emails marked “local” were kept here because no SMTP_URL is configured.
        </Text>
        <Table.ScrollContainer minWidth={700}>
          <Table verticalSpacing="xs" horizontalSpacing="md" data-testid="email-outbox">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>When (UTC)</Table.Th>
                <Table.Th>Org</Table.Th>
                <Table.Th>To</Table.Th>
                <Table.Th>Subject</Table.Th>
                <Table.Th>Status</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {outbox.map((m) => (
                <Table.Tr key={m.id}>
                  <Table.Td>{m.createdAt.slice(0, 19).replace("T", " ")}</Table.Td>
                  <Table.Td>{m.orgId}</Table.Td>
                  <Table.Td>{m.to}</Table.Td>
                  <Table.Td>{m.subject}</Table.Td>
                  <Table.Td>
                    <Badge color={m.status === "sent" ? "teal" : m.status === "local" ? "indigo" : "orange"}>{m.status}</Badge>
                    {m.lastError ? <Text size="xs">{m.lastError}</Text> : null}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Card>
      <Card withBorder padding={0}>
        <Title order={3} size="h4" p="md">
          Audit log
        </Title>
        <Table.ScrollContainer minWidth={700}>
          <Table verticalSpacing="xs" horizontalSpacing="md" data-testid="admin-audit-log">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>When (UTC)</Table.Th>
                <Table.Th>Org</Table.Th>
                <Table.Th>Who</Table.Th>
                <Table.Th>What</Table.Th>
                <Table.Th>Request</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {audit.map((a) => (
                <Table.Tr key={a.id}>
                  <Table.Td>{a.at.slice(0, 19).replace("T", " ")}</Table.Td>
                  <Table.Td>{a.orgId ?? "—"}</Table.Td>
                  <Table.Td>{a.actor}</Table.Td>
                  <Table.Td>
                    {a.action}
                    {a.target ? ` ${a.target}` : ""}
                  </Table.Td>
                  <Table.Td>{a.requestId ?? ""}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Card>
    </>
  );
}
