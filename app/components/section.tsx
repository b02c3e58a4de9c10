// Pieces every portal page repeats: the outcome of a form post, and a titled card holding a
// table (or a line saying there is nothing yet).
import { Alert, Box, Card, Text, Title } from "@mantine/core";
import { useActionData } from "@remix-run/react";
import type { ReactNode } from "react";

export type ActionOutcomeData = { ok: boolean; error?: string; message?: string };

/** The outcome of the page's last form post (portalAction's answer), with what else the page returns. */
export const useActionOutcome = <Extra extends object = object>() => useActionData() as (ActionOutcomeData & Extra) | undefined;

/** A failed post is an alert (read out at once); a success with a message is a status. */
export function ActionOutcome({ result }: { result: ActionOutcomeData | undefined }) {
  if (!result) return null;
  if (!result.ok)
    return (
      <Alert color="red" role="alert">
        {result.error}
      </Alert>
    );
  if (!result.message) return null;
  return (
    <Alert color="teal" role="status">
      {result.message}
    </Alert>
  );
}

/** A card titled `title`; `empty` when there are no rows, else the table. */
export function TableSection({
  title,
  description,
  isEmpty,
  empty,
  testId,
  children,
}: {
  title: string;
  description?: string;
  isEmpty: boolean;
  empty: string;
  testId?: string;
  children: ReactNode;
}) {
  return (
    <Card withBorder padding={0}>
      <Title order={3} size="h4" p="md">
        {title}
      </Title>
      {description ? (
        <Text size="sm" c="dimmed" px="md">
          {description}
        </Text>
      ) : null}
      {isEmpty ? (
        <Text c="dimmed" px="md" pb="md">
          {empty}
        </Text>
      ) : (
        <Box data-testid={testId}>{children}</Box>
      )}
    </Card>
  );
}
