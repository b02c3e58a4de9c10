// The /admin panels of notifications: the email outbox (with the emails kept locally when no
// SMTP server is configured) and the audit log of every org.
import { Badge, Box, Card, Text, Title } from "@mantine/core";
import { formatDateTime } from "./format";
import { type Column, ResponsiveTable } from "./responsive-table";

type Mail = { id: string; orgId: string; to: string; subject: string; status: string; attempts: number; lastError: string | null; createdAt: string };
type AuditEntry = { id: number; orgId: string | null; actor: string; action: string; target: string | null; requestId: string | null; at: string };

const mailColumns: Column<Mail>[] = [
  { header: "When (UTC)", cell: (m) => formatDateTime(m.createdAt, "UTC") },
  { header: "Org", cell: (m) => m.orgId },
  { header: "To", cell: (m) => m.to },
  { header: "Subject", cell: (m) => m.subject },
  {
    header: "Status",
    cell: (m) => (
      <>
        <Badge color={m.status === "sent" ? "teal" : m.status === "local" ? "indigo" : "orange"}>{m.status}</Badge>
        {m.lastError ? <Text size="xs">{m.lastError}</Text> : null}
      </>
    ),
  },
];

export const auditColumns = (timeZone: string, withOrg: boolean): Column<AuditEntry>[] => [
  { header: timeZone === "UTC" ? "When (UTC)" : "When", cell: (a) => formatDateTime(a.at, timeZone) },
  ...(withOrg ? [{ header: "Org", cell: (a: AuditEntry) => a.orgId ?? "—" }] : []),
  { header: "Who", cell: (a) => a.actor },
  { header: "What", cell: (a) => `${a.action}${a.target ? ` ${a.target}` : ""}` },
  {
    header: "Request",
    cell: (a) => (
      <Text size="xs" c="dimmed" component="span" className="break-all">
        {a.requestId ?? ""}
      </Text>
    ),
  },
];

export function NotifyAdminPanels({ outbox, audit }: { outbox: Mail[]; audit: AuditEntry[] }) {
  return (
    <>
      <Card withBorder padding={0}>
        <Title order={3} size="h4" p="md">
          Email outbox
        </Title>
        <Text size="sm" c="dimmed" px="md">
          Emails marked “local” were kept here because no SMTP_URL is configured.
        </Text>
        <Box data-testid="email-outbox">
          <ResponsiveTable caption="Email outbox" columns={mailColumns} rows={outbox} rowKey={(m) => m.id} />
        </Box>
      </Card>
      <Card withBorder padding={0}>
        <Title order={3} size="h4" p="md">
          Audit log
        </Title>
        <Box data-testid="admin-audit-log">
          <ResponsiveTable caption="Audit log" columns={auditColumns("UTC", true)} rows={audit} rowKey={(a) => String(a.id)} />
        </Box>
      </Card>
    </>
  );
}
