// The dashboard's first-run checklist: create a key, make the first call (a curl to copy, with
// this deployment's real address), see the usage on the dashboard. Each step ticks itself from
// the org's own data (its keys, their last use, the period's usage), and the list is gone once
// all three are done. While a key waits for its first call, the page looks again every 5 s.
import { Anchor, Card, Code, Group, Text, Title } from "@mantine/core";
import { Link, useRevalidator } from "@remix-run/react";
import { useEffect } from "react";
import { CopyButton } from "./copy-button";

export type FirstRun = { keys: number; keyUsed: boolean; usageRecorded: boolean };

export const firstRunDone = (f: FirstRun) => f.keys > 0 && f.keyUsed && f.usageRecorded;

/** The call to copy: one unit of usage recorded with the key (which also ticks "first call"). */
export const firstCall = (baseUrl: string) =>
  `curl -s -X POST "${baseUrl}/api/v1/usage" \\
  -H "Authorization: Bearer $METERED_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"request_id":"first-call-1","quantity":1}'`;

export function FirstRunChecklist({ progress, baseUrl, canCreateKeys }: { progress: FirstRun; baseUrl: string; canCreateKeys: boolean }) {
  const revalidator = useRevalidator();
  const waiting = progress.keys > 0 && !firstRunDone(progress);
  useEffect(() => {
    if (!waiting) return;
    const t = setInterval(() => {
      if (document.visibilityState === "visible" && revalidator.state === "idle") revalidator.revalidate();
    }, 5000);
    return () => clearInterval(t);
  }, [waiting, revalidator]);
  if (firstRunDone(progress)) return null;
  const steps = [
    {
      done: progress.keys > 0,
      title: "Create an API key",
      body: canCreateKeys ? (
        <Text size="sm">
          On the{" "}
          <Anchor component={Link} to="/keys">
            keys page
          </Anchor>
          ; copy it when it is shown (only once).
        </Text>
      ) : (
        <Text size="sm">Ask an admin of your organisation for one.</Text>
      ),
    },
    {
      done: progress.keyUsed,
      title: "Make your first call",
      body: (
        <>
          <Text size="sm">Set METERED_API_KEY to your key and run:</Text>
          <Group align="flex-start" gap="xs" className="mt-1">
            {/* Wrapped, not scrolled: readable on a phone (Copy gives the exact command). */}
            <Code block className="min-w-0 flex-1 whitespace-pre-wrap break-all text-xs" data-testid="first-call">
              {firstCall(baseUrl)}
            </Code>
            <CopyButton text={firstCall(baseUrl)} label="Copy curl command" />
          </Group>
        </>
      ),
    },
    {
      done: progress.usageRecorded,
      title: "See it on the dashboard",
      body: <Text size="sm">The call's usage shows in the meter and the chart below, within seconds.</Text>,
    },
  ];
  const doneCount = steps.filter((s) => s.done).length;
  return (
    <Card withBorder component="section" aria-labelledby="first-run-title" data-testid="first-run">
      <Group justify="space-between">
        <Title order={2} size="h4" id="first-run-title">
          Get started
        </Title>
        <Text size="sm" c="dimmed">
          {doneCount} of {steps.length} done
        </Text>
      </Group>
      <ol className="m-0 mt-3 flex list-none flex-col gap-3 p-0">
        {steps.map((s, i) => (
          <li key={s.title} className="flex gap-3" data-done={s.done}>
            <span
              aria-hidden="true"
              className={`flex h-6 w-6 shrink-0 items-center justify-center rounded-full text-sm font-semibold ${s.done ? "bg-teal-800 text-white" : "border border-gray-500 text-gray-800"}`}
            >
              {s.done ? "✓" : i + 1}
            </span>
            <div className="min-w-0 flex-1">
              <Text fw={600} td={s.done ? "line-through" : undefined}>
                {s.title}
                <span className="sr-only">{s.done ? " (done)" : " (to do)"}</span>
              </Text>
              {s.done ? null : s.body}
            </div>
          </li>
        ))}
      </ol>
    </Card>
  );
}
