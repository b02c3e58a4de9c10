// The ops console for platform admins: queue depth and lag, failed jobs with their errors and a
// replay button, recent webhook events (replayable), drift per period, orgs, and signing a
// person out everywhere.
import { Alert, Badge, Button, Card, Code, Group, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { formatNumber } from "~/components/format";
import { SloPanel } from "~/components/slo-panel";
import { OrgDeletions } from "~/components/org-deletions";
import { requireAdminPage } from "~/server/admin.server";
import { adminOverview, replayJob } from "~/server/admin-report.server";
import { replayStripeEvent } from "~/server/billing/webhooks.server";
import { AppError } from "~/server/errors.server";
import { portalAction } from "~/server/portal.server";
import { revokeSessionsOf } from "~/server/sessions.server";
import { sloReport } from "~/server/slo.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  await requireAdminPage(request);
  const [overview, slo] = await Promise.all([adminOverview(), sloReport()]);
  return json({ ...overview, slo });
};

export const action = (args: ActionFunctionArgs) =>
  portalAction(
    args,
    async ({ request, form }) => {
      await requireAdminPage(request);
      if (form.get("intent") === "revoke-sessions") {
        const r = await revokeSessionsOf({ email: String(form.get("email") ?? "") });
        return { message: `${r.email}: ${r.revoked} session${r.revoked === 1 ? "" : "s"} ended.${r.note ? ` ${r.note}` : ""}` };
      }
      const jobId = form.get("jobId");
      const eventId = form.get("eventId");
      if (typeof jobId === "string" && /^\d+$/.test(jobId)) return { message: `Job ${jobId} queued again.`, ...(await replayJob(jobId)) };
      if (typeof eventId === "string" && /^evt_[\w]+$/.test(eventId))
        return { message: `Event ${eventId} queued again.`, ...(await replayStripeEvent(eventId)) };
      throw new AppError("VALIDATION_FAILED", "Nothing to replay.");
    },
    {},
  ); // platform admins, whatever their role in their own org

const pct = (d: number | null) => (d === null ? "n/a" : `${(d * 100).toFixed(2)}%`);

export default function Admin() {
  const { jobs, events, orgs, drift, slo, orgDeletions } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as { ok: boolean; message?: string; error?: string } | undefined;
  const depth = jobs.tasks.reduce((s, t) => s + t.queued + t.retrying, 0);
  return (
    <Stack gap="lg">
      <Title order={2}>Operations</Title>
      {result ? (
        <Alert color={result.ok ? "teal" : "red"} role="status">
          {result.ok ? result.message : result.error}
        </Alert>
      ) : null}
      <SloPanel report={slo} />
      <OrgDeletions rows={orgDeletions} />
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            Queue depth
          </Text>
          <Text size="xl" fw={700} data-testid="queue-depth">
            {formatNumber(depth)}
          </Text>
        </Card>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            Job lag
          </Text>
          <Text size="xl" fw={700}>
            {formatNumber(jobs.lagMs)} ms
          </Text>
        </Card>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            Failed jobs
          </Text>
          <Text size="xl" fw={700} c={jobs.failed.length ? "red" : undefined}>
            {jobs.failed.length}
          </Text>
        </Card>
      </SimpleGrid>

      <Card withBorder padding={0}>
        <Text fw={600} p="md">
          Failed jobs (dead-letter queue)
        </Text>
        {jobs.failed.length === 0 ? (
          <Text c="dimmed" px="md" pb="md">
            No failed jobs.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Job</Table.Th>
                  <Table.Th>Task</Table.Th>
                  <Table.Th>Attempts</Table.Th>
                  <Table.Th>Error</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {jobs.failed.map((f) => (
                  <Table.Tr key={f.id}>
                    <Table.Td>
                      #{f.id}
                      <br />
                      <Code>{f.key}</Code>
                    </Table.Td>
                    <Table.Td>{f.task}</Table.Td>
                    <Table.Td>{f.attempts}</Table.Td>
                    <Table.Td>
                      <Text size="sm" c="red" className="max-w-md break-words">
                        {f.lastError}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Form method="post">
                        <input type="hidden" name="jobId" value={f.id} />
                        <Button type="submit" size="xs" aria-label={`Replay job ${f.id}`}>
                          Replay
                        </Button>
                      </Form>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>

      <Card withBorder padding={0}>
        <Text fw={600} p="md">
          Recent Stripe webhook events
        </Text>
        {events.length === 0 ? (
          <Text c="dimmed" px="md" pb="md">
            No events yet.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Event</Table.Th>
                  <Table.Th>Type</Table.Th>
                  <Table.Th>Received</Table.Th>
                  <Table.Th>Converged</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {events.map((e) => (
                  <Table.Tr key={e.id}>
                    <Table.Td>
                      <Code>{e.id}</Code>
                    </Table.Td>
                    <Table.Td>{e.type}</Table.Td>
                    <Table.Td>{e.received_at.slice(0, 19)}</Table.Td>
                    <Table.Td>{e.processed_at ? <Badge color="teal">{e.converge_ms} ms</Badge> : <Badge color="yellow">pending</Badge>}</Table.Td>
                    <Table.Td>
                      <Form method="post">
                        <input type="hidden" name="eventId" value={e.id} />
                        <Button type="submit" size="xs" variant="subtle">
                          Replay
                        </Button>
                      </Form>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>

      <Card withBorder padding={0}>
        <Group justify="space-between" p="md">
          <Text fw={600}>Usage drift (recorded vs reported to Stripe)</Text>
          {"error" in drift ? null : <Badge color={drift.maxDrift === 0 ? "teal" : "yellow"}>max {pct(drift.maxDrift)}</Badge>}
        </Group>
        {"error" in drift ? (
          <Alert color="yellow" m="md">
            {drift.error}
          </Alert>
        ) : (
          <Table.ScrollContainer minWidth={560}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Org</Table.Th>
                  <Table.Th>Period</Table.Th>
                  <Table.Th>Recorded</Table.Th>
                  <Table.Th>Reported</Table.Th>
                  <Table.Th>Drift</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {drift.rows.slice(0, 50).map((r) => (
                  <Table.Tr key={`${r.orgId}${r.periodStart}`}>
                    <Table.Td>{r.orgId}</Table.Td>
                    <Table.Td>{r.periodKey}</Table.Td>
                    <Table.Td>{formatNumber(r.recorded)}</Table.Td>
                    <Table.Td>{formatNumber(r.reported)}</Table.Td>
                    <Table.Td>{pct(r.drift)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>

      <Card withBorder padding={0}>
        <Text fw={600} p="md">
          Organisations
        </Text>
        <Table.ScrollContainer minWidth={560}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Org</Table.Th>
                <Table.Th>Plan</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Usage</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {orgs.map((o) => (
                <Table.Tr key={o.id}>
                  <Table.Td>
                    {o.name}
                    <br />
                    <Text size="xs" c="dimmed">
                      {o.id}
                    </Text>
                  </Table.Td>
                  <Table.Td>{o.plan_code ?? "—"}</Table.Td>
                  <Table.Td>{o.status ?? "—"}</Table.Td>
                  <Table.Td>{o.used === null ? "—" : `${formatNumber(o.used)} / ${formatNumber(o.included ?? 0)}`}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Card>

      <Card withBorder>
        <Form method="post">
          <input type="hidden" name="intent" value="revoke-sessions" />
          <Group align="flex-end">
            <TextInput label="Sign a person out everywhere" name="email" type="email" required placeholder="person@example.com" className="min-w-64 flex-1" />
            <Button type="submit" color="red" variant="light">
              Sign out everywhere
            </Button>
          </Group>
        </Form>
      </Card>
    </Stack>
  );
}
