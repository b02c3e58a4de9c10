// The /admin panels of notifications: the email outbox (with the emails kept locally when no
// SMTP server is configured) and the audit log of every org.
import { Badge, Text } from "@mantine/core";
import { formatDateTime } from "./format";
import { type Column, ResponsiveTable } from "./responsive-table";
import { TableSection } from "./section";

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
      <TableSection
        title="Email outbox"
        description="Emails marked “local” were kept here because no SMTP_URL is configured."
        isEmpty={outbox.length === 0}
        empty="No emails yet."
        testId="email-outbox"
      >
        <ResponsiveTable caption="Email outbox" columns={mailColumns} rows={outbox} rowKey={(m) => m.id} />
      </TableSection>
      <TableSection title="Audit log" isEmpty={audit.length === 0} empty="Nothing recorded yet." testId="admin-audit-log">
        <ResponsiveTable caption="Audit log" columns={auditColumns("UTC", true)} rows={audit} rowKey={(a) => String(a.id)} />
      </TableSection>
    </>
  );
}
